"""The child process of the ``python`` grader's sandbox: it runs ONE grade of caller-supplied code.

Started by ``python_grader.PythonSandbox`` as ``python -I -S -B <this directory>`` (isolated mode, no
``site``: no site-packages, no ``PYTHON*`` variables, no user directories on ``sys.path``), with an
empty environment, a fresh empty temp dir as its cwd, stdin/stdout pipes only, in a session and process
group of its own. It imports the standard library only and must stay that way: it never imports
``jurist`` (``-S`` takes site-packages, and with it ``jurist``, off ``sys.path``; that is why it is run
by path and not with ``-m``). ``__main__`` loads this directory as a package of its own, so its modules
import each other relatively, whether the child or the parent (for ``protocol``) imports them.

Protocol (``protocol``). stdin: one JSON object ``{source, sample, item, limits, required, import_paths,
namespaces, probe}``. stdout: JSON lines. First, once the sandbox is set up, ``{"ready": true,
"protections": [...], "unavailable": {name: why}, "forked": bool}`` (or ``{"refused": why, ...}`` when
a required protection could not be set up, or ``{"setup_error": why}``); then, unless probing,
``{"score": x}`` or ``{"error": "kind: detail"}``. The grader can write to the result descriptor too, so
the parent trusts nothing in the second line beyond the grader's own result.

Set-up (``runner.main``), in this order, all before a byte of the grader's code runs:

1. the stdout pipe is moved to a private descriptor; fds 0/1/2 become ``/dev/null`` (a grader's
   ``print`` cannot corrupt the protocol), the environment is cleared;
2. rlimits (``rlimits``), soft = hard so they cannot be raised again: RLIMIT_CORE 0, RLIMIT_FSIZE (0: no
   file can grow; SIGXFSZ ignored so a write fails with EFBIG instead of killing), RLIMIT_NOFILE,
   RLIMIT_AS (memory), RLIMIT_CPU (soft; the hard limit is one second later and is a SIGKILL);
3. namespaces (``namespaces``, Linux): ``unshare(2)`` (``os.unshare`` from Python 3.12, libc through
   ctypes before) into new network, mount, PID, IPC and UTS namespaces, inside a new user namespace when
   not root (root needs none, and then gives up root for ``nobody`` below). The network namespace has
   only a down loopback: nothing, not even the host's 127.0.0.1, is reachable;
4. a fork, so that the grader is PID 1 of the new PID namespace (it sees no other process; the
   intermediate process only waits and passes the exit status on; the grader is SIGKILLed if it dies);
5. a minimal root (``root``): a small tmpfs holding read-only bind mounts of ``/usr``, ``/bin``,
   ``/lib*``, the interpreter's own ``sys.path`` directories, ``/dev/{null,zero,random,urandom}`` and a
   private ``/proc``; the process moves into it (``MS_MOVE`` + ``chroot``) and every mount is remounted
   read-only. Home directories, ``/etc`` (but ``ld.so.cache``), ``/tmp``, the server's data and config
   are not in it;
6. privileges (``privileges``): root becomes ``nobody`` (65534); the bounding, ambient and all other
   capability sets are emptied (``capset``); ``PR_SET_NO_NEW_PRIVS``; RLIMIT_NPROC (not enforced for uid
   0, so it only counts when the grader is not root; with a user namespace it counts that namespace's
   tasks, threads included);
7. a ``sys.addaudithook`` hook (``audit``) refusing sockets, processes (``subprocess``, ``os.system``,
   ``os.exec*``, ``os.fork``, ``os.spawn*``, ``os.posix_spawn``), ``ctypes``, signals to other
   processes, every open for writing/creating and every file-system change, code-object construction
   (``code.__new__``, ``marshal.loads``: the usual ways out of an audit hook), sub-interpreters and
   rlimit changes. The hook reads nothing mutable (no globals, no closure, no defaults: its constants are
   literals in its own immutable code object, and replacing ``__code__`` is refused). Audit hooks are NOT
   a security boundary (PEP 578); they are the last layer, and the only one that works everywhere.

A namespace step that is unavailable (no unprivileged user namespaces, a container without
CAP_SYS_ADMIN, not Linux) is skipped and reported under ``unavailable``; a protection the parent listed
in ``required`` that could not be set up makes the child refuse to run the grader at all.
"""
