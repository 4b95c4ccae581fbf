"""Drives an MCP server with the official Python SDK, one line per step.

    python py_client.py URL [--transport streamable-http|sse|modern|auto]
    python py_client.py URL --routes TOKEN

Works with `mcp` 2.x and 1.x (the xtask runs it from the `.interop/py-mcp2` and
`.interop/py-mcp1` venvs). `--transport sse` uses the legacy HTTP+SSE client
(`mcp.client.sse.sse_client`) against URL as given (the xtask passes `{URL}/sse`).
`--transport modern` and `--transport auto` (mcp 2.x only) use the high-level `mcp.Client`
pinned to the stateless 2026-07-28 era, or probing for it (`server/discover`) as it does by
default; both must end up on 2026-07-28, and add an MRTR elicitation round trip and a task
(the tasks extension, driven through mcp 2.x's client-extension API: `tasks_extension`).

`--routes TOKEN` checks an example app instead of the fixture: over streamable HTTP with
`Authorization: Bearer TOKEN` on every request, it lists the tools generated from the app's own
REST routes (`index_notes`, `create_note`, `show_note`) and calls them: the token travels to
the app's auth middleware with each call.

Each step prints `PASS step` or `FAIL step: reason`; steps after a failed connect are
reported as failures too, never skipped silently. Exits 1 if any step failed.
"""

import argparse
import asyncio
import importlib.metadata
import sys
import traceback

STEP_TIMEOUT = 8.0  # seconds; 6 steps fit in the 60 s after which the xtask kills the script
STEPS = ["initialize", "list_tools", "call_tool", "read_resource", "get_prompt", "progress"]
MODERN_STEPS = ["connect", "list_tools", "call_tool", "read_resource", "get_prompt", "progress", "elicitation", "task"]
ROUTE_STEPS = ["initialize", "list_route_tools", "call_route_tool", "route_path_argument", "route_body", "route_not_found"]
ROUTE_TOOLS = ["index_notes", "create_note", "show_note"]
MODERN_VERSION = "2026-07-28"

MCP_VERSION = importlib.metadata.version("mcp")


def field(obj, *names):
    """Reads the first attribute that exists: 2.x uses snake_case, 1.x camelCase."""
    for name in names:
        if hasattr(obj, name):
            return getattr(obj, name)
    raise AttributeError(f"{type(obj).__name__} has none of {names}")


def describe(exc):
    """One line for an exception, unwrapping exception groups from anyio task groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).split("\n")[0].strip()
    text = text if len(text) <= 300 else text[:300] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Report:
    """Collects one PASS/FAIL line per step and prints each as soon as it is known."""

    def __init__(self, steps):
        self.steps = steps
        self.done = set()
        self.failures = set()

    def passed(self, step, note=""):
        self.done.add(step)
        print(f"PASS {step}" + (f" ({note})" if note else ""), flush=True)

    def fail(self, step, reason):
        self.done.add(step)
        self.failures.add(step)
        print(f"FAIL {step}: {reason}", flush=True)

    def fail_rest(self, reason):
        for step in self.steps:
            if step not in self.done:
                self.fail(step, reason)


def text_of(content):
    """The text items of a content list, joined."""
    return " ".join(getattr(block, "text", "") or "" for block in content if field(block, "type") == "text")


async def steps(session, report):
    """The legacy run: the initialize handshake, then the checks both eras share."""

    async def initialize():
        init = await session.initialize()
        version = field(init, "protocol_version", "protocolVersion")
        server = field(init, "server_info", "serverInfo")
        if not version or not server.name:
            raise ValueError(f"incomplete InitializeResult: {init!r}")
        return f"protocol {version}, server {server.name}"

    await step(report, "initialize", initialize)
    if "initialize" in report.failures:
        report.fail_rest("not run: initialize failed")
        return
    await shared_steps(session, report)


async def shared_steps(session, report):
    """Checks a `ClientSession` (1.x or 2.x) and a 2.x `Client` answer alike: same method names."""

    async def list_tools():
        tools = [tool.name for tool in (await session.list_tools()).tools]
        if "test_simple_text" not in tools:
            raise ValueError(f"test_simple_text not in {tools}")
        return f"{len(tools)} tools"

    async def call_tool():
        result = await session.call_tool("test_simple_text", {})
        if field(result, "is_error", "isError"):
            raise ValueError(f"isError: {text_of(result.content)!r}")
        text = text_of(result.content)
        if not text:
            raise ValueError(f"no text content in {result.content!r}")
        return repr(text)

    async def read_resource():
        result = await session.read_resource("test://static-text")
        if not result.contents:
            raise ValueError("empty contents")
        text = getattr(result.contents[0], "text", None)
        if not text:
            raise ValueError(f"no text in {result.contents[0]!r}")
        return repr(text)

    async def get_prompt():
        result = await session.get_prompt("test_simple_prompt")
        if not result.messages:
            raise ValueError("no messages")
        return f"{len(result.messages)} message(s)"

    async def progress():
        seen = []

        async def on_progress(progress, total, message):
            seen.append((progress, total))

        result = await session.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
        if field(result, "is_error", "isError"):
            raise ValueError(f"isError: {text_of(result.content)!r}")
        if not seen:
            raise ValueError("no progress notification reached the callback")
        return f"{len(seen)} notification(s): {seen}"

    for name, check in [("list_tools", list_tools), ("call_tool", call_tool), ("read_resource", read_resource),
                        ("get_prompt", get_prompt), ("progress", progress)]:
        await step(report, name, check)


async def step(report, name, check):
    try:
        note = await asyncio.wait_for(check(), STEP_TIMEOUT)
    except asyncio.TimeoutError:
        report.fail(name, f"no answer within {STEP_TIMEOUT:.0f} s")
    except Exception as exc:  # every SDK or server error is this step's failure
        report.fail(name, describe(exc))
    else:
        report.passed(name, note or "")


TASKS_EXTENSION = "io.modelcontextprotocol/tasks"


def tasks_extension(seen):
    """The tasks extension as a 2.x client extension: a `resultType: "task"` answer to
    `tools/call` is resolved by polling `tasks/get` until the task ends (mcp 2.3 has no tasks
    client of its own; its extension API is enough). `seen` collects the task ids."""
    from typing import Any, ClassVar, Literal

    import mcp_types
    from mcp import types
    from mcp.client.extension import ClientExtension, ResultClaim
    from pydantic import ConfigDict, Field

    class CreateTaskResult(mcp_types.Result):
        model_config = ConfigDict(extra="allow", populate_by_name=True)
        result_type: Literal["task"] = Field(alias="resultType")
        task_id: str = Field(alias="taskId")
        status: str
        poll_interval_ms: int | None = Field(default=None, alias="pollIntervalMs")

    class TaskParams(types.RequestParams):
        model_config = ConfigDict(extra="allow", populate_by_name=True)
        task_id: str = Field(alias="taskId")

    class GetTask(types.Request[TaskParams, Literal["tasks/get"]]):
        method: Literal["tasks/get"] = "tasks/get"
        params: TaskParams
        name_param: ClassVar[str | None] = "taskId"

    class DetailedTask(mcp_types.Result):
        model_config = ConfigDict(extra="allow", populate_by_name=True)
        task_id: str = Field(alias="taskId")
        status: str
        result: dict[str, Any] | None = None
        error: dict[str, Any] | None = None

    async def resolve(created, ctx):
        seen.append(created.task_id)
        for _ in range(100):
            task = await ctx.session.send_request(GetTask(params=TaskParams(task_id=created.task_id)), DetailedTask)
            if task.status in ("completed", "failed", "cancelled"):
                break
            await asyncio.sleep(min(created.poll_interval_ms or 500, 1000) / 1000)
        if task.status != "completed":
            raise RuntimeError(f"task {task.task_id} ended {task.status}: {task.error}")
        return types.CallToolResult.model_validate(task.result)

    class Tasks(ClientExtension):
        identifier = TASKS_EXTENSION

        def claims(self):
            return [ResultClaim(result_type="task", model=CreateTaskResult, resolve=resolve)]

    return Tasks()


async def run_modern(url, mode, report):
    """The high-level 2.x `Client` on the stateless 2026-07-28 era (pinned, or found by probing)."""
    from mcp import Client, types

    asked = []

    async def on_elicit(context, params):
        asked.append(field(params, "message"))
        return types.ElicitResult(action="accept", content={"username": "interop", "email": "interop@example.com"})

    client_mode = MODERN_VERSION if mode == "modern" else "auto"
    tasks = []
    extensions = [tasks_extension(tasks)]
    async with Client(url, mode=client_mode, elicitation_callback=on_elicit, extensions=extensions) as client:

        async def connect():
            version = client.protocol_version
            if version != MODERN_VERSION:
                raise ValueError(f"the client settled on {version}, not {MODERN_VERSION}")
            return f"protocol {version} (mode {client_mode})"

        await step(report, "connect", connect)
        if "connect" in report.failures:
            report.fail_rest("not run: the client is not on the modern era")
            return

        async def elicitation():
            result = await client.call_tool("test_elicitation", {"message": "Who is calling?"})
            text = text_of(result.content)
            if result.is_error or not asked or "interop" not in text:
                raise ValueError(f"isError {result.is_error}, callback asked {asked}, text {text!r}")
            return f"input_required answered through the callback ({asked[0]!r}): {text!r}"

        async def task():
            # Two seconds of work: past the server's threshold, so the answer is a task.
            result = await client.call_tool("slow_compute", {"seconds": 2, "label": "interop"})
            text = text_of(result.content)
            if result.is_error or len(tasks) != 1 or text != "computed interop in 2 s":
                raise ValueError(f"isError {result.is_error}, tasks {tasks}, text {text!r}")
            return f"a task ({tasks[0]}) polled with tasks/get to its result {text!r}"

        await shared_steps(client, report)
        await step(report, "elicitation", elicitation)
        await step(report, "task", task)


async def route_steps(session, report):
    """The example app's REST routes as tools: listed with their schemas, and called."""

    async def initialize():
        init = await session.initialize()
        return f"protocol {field(init, 'protocol_version', 'protocolVersion')}"

    async def list_route_tools():
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        missing = [name for name in ROUTE_TOOLS if name not in tools]
        if missing:
            raise ValueError(f"{missing} not in {sorted(tools)}")
        show = tools["show_note"]
        schema = field(show, "input_schema", "inputSchema")
        if "id" not in schema.get("properties", {}) or "id" not in schema.get("required", []):
            raise ValueError(f"show_note's input schema lacks the path argument id: {schema}")
        hints = field(show, "annotations")
        if not hints or not field(hints, "read_only_hint", "readOnlyHint"):
            raise ValueError(f"show_note (GET) is not read-only: {hints!r}")
        return f"{len(tools)} tools, {len(ROUTE_TOOLS)} of them the app's routes"

    async def call(name, arguments):
        result = await session.call_tool(name, arguments)
        return result, field(result, "is_error", "isError"), field(result, "structured_content", "structuredContent")

    async def call_route_tool():
        result, is_error, _ = await call("index_notes", {})
        if is_error or "Welcome" not in text_of(result.content):
            raise ValueError(f"isError {is_error}: {text_of(result.content)!r}")
        return "GET /notes answered through the app"

    async def route_path_argument():
        _, is_error, structured = await call("show_note", {"id": 1})
        if is_error or not structured or structured.get("title") != "Welcome":
            raise ValueError(f"isError {is_error}, structuredContent {structured!r}")
        return f"structuredContent {structured}"

    async def route_body():
        _, is_error, structured = await call("create_note", {"title": "interop", "body": "from python"})
        if is_error or not structured or structured.get("title") != "interop":
            raise ValueError(f"isError {is_error}, structuredContent {structured!r}")
        return f"created note {structured.get('id')}"

    async def route_not_found():
        result, is_error, _ = await call("show_note", {"id": 999999})
        if not is_error or "404" not in text_of(result.content):
            raise ValueError(f"expected an isError result with 404, got {text_of(result.content)!r}")
        return "404 came back as a tool error"

    for name, check in [("initialize", initialize), ("list_route_tools", list_route_tools),
                        ("call_route_tool", call_route_tool), ("route_path_argument", route_path_argument),
                        ("route_body", route_body), ("route_not_found", route_not_found)]:
        await step(report, name, check)
        if name == "initialize" and "initialize" in report.failures:
            report.fail_rest("not run: initialize failed")
            return


async def run_routes(url, token, report):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with http, streamable_http_client(url, http_client=http) as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write) as session:
            await route_steps(session, report)


async def run(url, transport, report):
    if transport in ("modern", "auto"):
        await run_modern(url, transport, report)
        return
    from mcp import ClientSession

    if transport == "sse":
        from mcp.client.sse import sse_client

        connect = sse_client(url)
    else:
        # 2.x yields (read, write); 1.x (since 1.2x) yields (read, write, get_session_id). The
        # older 1.x name streamablehttp_client is deprecated.
        from mcp.client.streamable_http import streamable_http_client

        connect = streamable_http_client(url)

    async with connect as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write) as session:
            await steps(session, report)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--transport", choices=["streamable-http", "sse", "modern", "auto"], default="streamable-http")
    parser.add_argument("--routes", metavar="TOKEN", help="check an example app's route tools, with this bearer token")
    args = parser.parse_args()
    mode = "routes" if args.routes else args.transport
    print(f"mcp {MCP_VERSION}, python {sys.version.split()[0]}, {mode} {args.url}", flush=True)

    if args.routes:
        report = Report(ROUTE_STEPS)
        job = run_routes(args.url, args.routes, report)
    else:
        report = Report(MODERN_STEPS if args.transport in ("modern", "auto") else STEPS)
        job = run(args.url, args.transport, report)
    try:
        asyncio.run(asyncio.wait_for(job, 55))
    except BaseException as exc:  # connect errors surface here, often wrapped in an ExceptionGroup
        if isinstance(exc, KeyboardInterrupt):
            raise
        traceback.print_exc(file=sys.stderr)
        if not report.done:
            report.fail(report.steps[0], f"could not connect: {describe(exc)}")
            report.fail_rest("not run: could not connect")
        elif len(report.done) == len(report.steps):
            # Every step already reported; an error while closing the session is still a failure.
            report.fail("close", describe(exc))
        else:
            report.fail_rest(f"not run: the session broke: {describe(exc)}")
    report.fail_rest("not run: the session ended early")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
