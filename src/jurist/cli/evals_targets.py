"""Where ``jurist evals run`` runs an eval: in this process (``LocalTarget``: the services of ``jurist
serve`` on the configured data dir, its worker grading the rows) or on a running server (``RemoteTarget``:
the Evals API over HTTP). Both answer with the API's JSON objects (``eval.run``, its output items), so
the command follows, reports and writes a run the same way wherever it ran; a refusal is a
``JuristError`` with the status and param the API gives."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from jurist.errors import JuristError, NotFound
from jurist.protocol.json_types import JSONObject
from jurist.service.evals.wire import item_object, run_object
from jurist.store.eval_records import EvalRunRecord

if TYPE_CHECKING:
    import aiohttp

    from jurist.composition import Services


class LocalTarget:
    """This process: the services of ``jurist serve`` on the configured data dir, with a worker."""

    name: str  # what the state is keyed on
    left = "it waits in the data dir: run the same command again to resume it (or add --cancel)."

    def __init__(self, services: Services, tenant: str) -> None:
        self.evals, self.files, self.tenant = services.evals, services.files, tenant
        s = services.settings
        self.name = f"local {s.data_dir.resolve()} {s.resolved_database_url} {tenant}"

    async def create_eval(self, body: JSONObject) -> str:
        return (await self.evals.create(self.tenant, body)).id

    async def upload(self, path: Path) -> str:
        async def chunks() -> AsyncIterator[bytes]:
            yield await asyncio.to_thread(path.read_bytes)

        return (await self.files.upload(self.tenant, path.name, "evals", chunks())).id

    async def create_run(self, eval_id: str, body: JSONObject) -> JSONObject:
        return await self._object(await self.evals.create_run(self.tenant, eval_id, body))

    async def get_run(self, eval_id: str, run_id: str) -> JSONObject | None:
        try:
            return await self._object(await self.evals.get_run(self.tenant, eval_id, run_id))
        except NotFound:
            return None

    async def cancel_run(self, eval_id: str, run_id: str) -> JSONObject:
        return await self._object(await self.evals.cancel_run(self.tenant, eval_id, run_id))

    async def _object(self, run: EvalRunRecord) -> JSONObject:
        criteria = (await self.evals.get(self.tenant, run.eval_id)).body.get("testing_criteria")
        counts, usage = await self.evals.store.counts(run.id), await self.evals.store.usage(run.id)
        return run_object(run, criteria if isinstance(criteria, list) else [], counts, usage, "")

    async def items(self, eval_id: str, run_id: str) -> AsyncIterator[JSONObject]:
        after: str | None = None
        while True:
            page = await self.evals.list_items(self.tenant, eval_id, run_id, after, 100, "asc", None)
            for item in page.items:
                yield item_object(item, eval_id)
            if not page.has_more or not page.items:
                return
            after = page.items[-1].id


class RemoteTarget:
    """The Evals API of a running server."""

    left = "it goes on on the server: run the same command again to follow it, or add --cancel."

    def __init__(self, session: aiohttp.ClientSession, base: str, key: str) -> None:
        self.session, self.base = session, base
        self.name = f"server {base} {hashlib.sha256(key.encode()).hexdigest()}"

    async def _call(self, method: str, path: str, body: JSONObject | None = None, **kw: object) -> JSONObject:
        if body is not None:
            kw.update(data=orjson.dumps(body), headers={"Content-Type": "application/json"})
        async with self.session.request(method, self.base + path, **kw) as resp:  # type: ignore[arg-type]
            raw, status = await resp.read(), resp.status
        try:
            answer = orjson.loads(raw)
        except orjson.JSONDecodeError:
            answer = None
        if status >= 400:
            error = answer.get("error") if isinstance(answer, dict) else None
            error = error if isinstance(error, dict) else {}
            message = str(error.get("message") or f"HTTP {status}: {raw[:200].decode(errors='replace')}")
            param = error.get("param")
            raise JuristError(message, param=param if isinstance(param, str) else None, status_code=status)
        if not isinstance(answer, dict):
            raise JuristError(f"the server's answer to {method} {path} is not a JSON object", status_code=502)
        return answer

    async def create_eval(self, body: JSONObject) -> str:
        return str((await self._call("POST", "/evals", body))["id"])

    async def upload(self, path: Path) -> str:
        import aiohttp

        form = aiohttp.FormData()
        form.add_field("purpose", "evals")
        data = await asyncio.to_thread(path.read_bytes)
        form.add_field("file", data, filename=path.name, content_type="application/jsonl")
        return str((await self._call("POST", "/files", data=form))["id"])

    async def create_run(self, eval_id: str, body: JSONObject) -> JSONObject:
        return await self._call("POST", f"/evals/{eval_id}/runs", body)

    async def get_run(self, eval_id: str, run_id: str) -> JSONObject | None:
        try:
            return await self._call("GET", f"/evals/{eval_id}/runs/{run_id}")
        except JuristError as exc:
            if exc.status_code == 404:
                return None
            raise

    async def cancel_run(self, eval_id: str, run_id: str) -> JSONObject:
        return await self._call("POST", f"/evals/{eval_id}/runs/{run_id}/cancel")

    async def items(self, eval_id: str, run_id: str) -> AsyncIterator[JSONObject]:
        params = {"limit": "100", "order": "asc"}
        while True:
            page = await self._call("GET", f"/evals/{eval_id}/runs/{run_id}/output_items", params=params)
            data = page.get("data")
            items = [i for i in data if isinstance(i, dict)] if isinstance(data, list) else []
            for item in items:
                yield item
            if not page.get("has_more") or not items:
                return
            params["after"] = str(items[-1]["id"])


Target = LocalTarget | RemoteTarget
