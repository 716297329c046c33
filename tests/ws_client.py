#!/usr/bin/python3
"""A WebSocket client for weir's tests and benchmarks, written from the
protocol description of Zeek's WebSocket API (v1 JSON): connect to
/v1/messages/json, send a JSON array of subscription prefixes, wait for
{"type": "ack", ...}, then exchange {"type": "data-message", ...} frames.

Uses Debian's python3-websockets (10.x, the asyncio API). Every line it
prints on stdout is one JSON object, so the test driving it can parse it.

Modes:

  control   Connects and then obeys JSON-line commands on stdin:
              {"op": "send", "text": "..."}       send a text frame
              {"op": "recv", "timeout": 2.0}      print the next frame
              {"op": "close", "code": 1000}       close and exit
            Prints {"event": "open"} first, or {"event": "rejected",
            "status": N} / {"event": "failed", "error": "..."} and exits.
            A recv prints {"event": "message", "text": ...},
            {"event": "timeout"} or {"event": "closed", "code": N,
            "reason": "..."}.

  recv      Subscribes to --prefix, prints {"event": "ack", ...}, receives
            --count data messages, printing {"event": "progress", "n": N}
            every --progress messages and {"event": "done", "n": N,
            "seconds": S} at the end (S from the first to the last message).

  send      Waits for the ack of an empty subscription, then sends the
            data message in --message --count times as fast as it can
            (frames queued in batches of 64 between drains) and prints
            {"event": "done", "n": N, "seconds": S}.
"""

import argparse
import asyncio
import json
import ssl
import sys
import time

import websockets
from websockets.frames import OP_TEXT


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def connect(args):
    headers = [tuple(h.split(":", 1)) for h in args.header]
    headers = [(name.strip(), value.strip()) for name, value in headers]
    context = None
    if args.url.startswith("wss://"):
        context = ssl.create_default_context(cafile=args.cafile)
    return websockets.connect(
        args.url,
        extra_headers=headers,
        ssl=context,
        ping_interval=None,
        max_size=None,
        max_queue=None,
        compression=None,
        open_timeout=10,
        close_timeout=2,
    )


async def open_or_report(args):
    try:
        return await connect(args)
    except websockets.exceptions.InvalidStatusCode as error:
        emit({"event": "rejected", "status": error.status_code})
    except Exception as error:  # noqa: BLE001 - reported to the test as data
        emit({"event": "failed", "error": f"{type(error).__name__}: {error}"})
    return None


async def recv_one(ws, timeout):
    try:
        text = await asyncio.wait_for(ws.recv(), timeout)
        return {"event": "message", "text": text}
    except asyncio.TimeoutError:
        return {"event": "timeout"}
    except websockets.exceptions.ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd is not None else 1006
        reason = closed.rcvd.reason if closed.rcvd is not None else ""
        return {"event": "closed", "code": code, "reason": reason}


async def control(args):
    ws = await open_or_report(args)
    if ws is None:
        return
    emit({"event": "open"})
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if line == "":
            await ws.close()
            return
        command = json.loads(line)
        op = command["op"]
        if op == "send":
            try:
                await ws.send(command["text"])
            except websockets.exceptions.ConnectionClosed:
                pass
        elif op == "recv":
            emit(await recv_one(ws, command.get("timeout", 5.0)))
        elif op == "close":
            await ws.close(command.get("code", 1000))
            emit({"event": "closed", "code": ws.close_code, "reason": ws.close_reason})
            return
        else:
            emit({"event": "failed", "error": f"unknown op {op}"})


async def wait_ack(ws):
    reply = json.loads(await ws.recv())
    if reply.get("type") != "ack":
        emit({"event": "failed", "error": f"expected an ack, got {reply}"})
        return False
    emit({"event": "ack", "endpoint": reply["endpoint"]})
    return True


async def receive(args):
    ws = await open_or_report(args)
    if ws is None:
        return
    await ws.send(json.dumps([args.prefix]))
    if not await wait_ack(ws):
        return
    first = None
    last_text = ""
    for n in range(1, args.count + 1):
        last_text = await ws.recv()
        if first is None:
            first = time.monotonic()
        if n % args.progress == 0:
            emit({"event": "progress", "n": n})
    seconds = time.monotonic() - first if first is not None else 0.0
    message = json.loads(last_text) if last_text else {}
    emit({"event": "done", "n": args.count, "seconds": seconds, "last_topic": message.get("topic")})
    await ws.close()


async def send(args):
    ws = await open_or_report(args)
    if ws is None:
        return
    await ws.send("[]")
    if not await wait_ack(ws):
        return
    data = args.message.encode()
    start = time.monotonic()
    # Frames are queued without awaiting each one and drained in batches:
    # the client is the load generator here, and awaiting per message
    # would measure asyncio rather than the server.
    for n in range(1, args.count + 1):
        ws.write_frame_sync(True, OP_TEXT, data)
        if n % 64 == 0:
            await ws.drain()
    await ws.drain()
    seconds = time.monotonic() - start
    emit({"event": "done", "n": args.count, "seconds": seconds})
    # Read until the server closes or the test ends us, so errors are not lost.
    while True:
        result = await recv_one(ws, 3600)
        emit(result)
        if result["event"] == "closed":
            return


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["control", "recv", "send"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--header", action="append", default=[], help="Name: value")
    parser.add_argument("--cafile", default=None)
    parser.add_argument("--prefix", default="")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--progress", type=int, default=1000)
    parser.add_argument("--message", default="")
    args = parser.parse_args()
    runner = {"control": control, "recv": receive, "send": send}[args.mode]
    try:
        asyncio.run(runner(args))
    except (BrokenPipeError, KeyboardInterrupt):
        pass


if __name__ == "__main__":
    main()
