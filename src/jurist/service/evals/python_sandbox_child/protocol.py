"""What the sandbox's parent and child say to each other: the names of the protections, the kinds of
error the child may report, the request on its stdin and the JSON lines on its stdout.

Standard library only (the child imports it as well as the parent): the messages are ``TypedDict``s."""

from __future__ import annotations

from typing import TypedDict

# The names of the protections, as reported to the parent and by ``PythonSandbox.protections()``.
EMPTY_ENV = "empty_env"
FRESH_CWD = "fresh_cwd"
PROCESS_GROUP = "process_group"
RLIMIT_MEMORY = "rlimit_memory"
RLIMIT_CPU = "rlimit_cpu"
RLIMIT_NOFILE = "rlimit_nofile"
RLIMIT_FSIZE = "rlimit_fsize"
RLIMIT_CORE = "rlimit_core"
RLIMIT_NPROC = "rlimit_nproc"
USER_NAMESPACE = "user_namespace"
NETWORK_NAMESPACE = "network_namespace"
MOUNT_NAMESPACE = "mount_namespace"
PID_NAMESPACE = "pid_namespace"
IPC_NAMESPACE = "ipc_namespace"
MINIMAL_ROOT = "minimal_root"
READ_ONLY_FS = "read_only_fs"
UNPRIVILEGED_UID = "unprivileged_uid"
CAPABILITIES_DROPPED = "capabilities_dropped"
NO_NEW_PRIVS = "no_new_privs"
AUDIT_HOOK = "audit_hook"

ALL_PROTECTIONS = (
    EMPTY_ENV,
    FRESH_CWD,
    PROCESS_GROUP,
    RLIMIT_MEMORY,
    RLIMIT_CPU,
    RLIMIT_NOFILE,
    RLIMIT_FSIZE,
    RLIMIT_CORE,
    RLIMIT_NPROC,
    USER_NAMESPACE,
    NETWORK_NAMESPACE,
    MOUNT_NAMESPACE,
    PID_NAMESPACE,
    IPC_NAMESPACE,
    MINIMAL_ROOT,
    READ_ONLY_FS,
    UNPRIVILEGED_UID,
    CAPABILITIES_DROPPED,
    NO_NEW_PRIVS,
    AUDIT_HOOK,
)

# The kinds of error the child reports for the grader's own faults (the parent accepts no other kind
# from the child: the grader can write to the result pipe and must not be able to claim a server fault).
GRADER_ERROR_KINDS = ("runtime_error", "invalid_result", "timeout", "memory", "invalid_source")


class Limits(TypedDict, total=False):
    """``SandboxLimits`` as the child applies them (a missing one takes the child's default)."""

    memory_bytes: int
    cpu_seconds: int
    max_open_files: int
    max_file_bytes: int
    max_processes: int
    max_message_chars: int


class Request(TypedDict, total=False):
    """The one JSON object on the child's stdin."""

    source: str
    sample: object  # JSON, passed to grade() as it came
    item: object
    limits: Limits
    required: list[str]  # protections without which the grader is not run
    import_paths: list[str]  # absolute directories bound into the sandbox and put on sys.path
    namespaces: bool  # False: skip the Linux namespace steps
    probe: bool  # report the protections only; run nothing


class Ready(TypedDict):
    """The first line: the sandbox is set up and the grader runs next (unless probing)."""

    ready: bool
    protections: list[str]
    unavailable: dict[str, str]  # each protection that is not active, and why
    forked: bool  # the grader is PID 1 of a PID namespace, under an intermediate process


class Refused(TypedDict):
    """The first line: a required protection could not be set up; the grader does not run."""

    refused: str
    protections: list[str]
    unavailable: dict[str, str]
    forked: bool


class SetupError(TypedDict):
    """The first line: the set-up itself broke (the server's fault, never the grader's)."""

    setup_error: str


class Score(TypedDict):
    """The second line: the grader's finite score."""

    score: float


class GraderError(TypedDict):
    """The second line: ``"kind: detail"``, kind one of ``GRADER_ERROR_KINDS``."""

    error: str


Result = Score | GraderError
Message = Ready | Refused | SetupError | Score | GraderError
