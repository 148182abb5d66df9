#!/usr/bin/env python3
"""bench/idle_connections.py PORT COUNT SECONDS — the async proof of issue 5: opens COUNT
keep-alive connections to 127.0.0.1:PORT, makes one request on each (GET /healthz, so every
connection has been served and is idle in keep-alive), then holds them all open for SECONDS
and closes them. Prints "open=N served=M" once all are established, and "still_open=K" at
the end (connections the server closed meanwhile are counted out). Needs an fd limit above
COUNT (bench/run raises it)."""
import selectors
import socket
import sys
import time

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: keep-alive\r\n\r\n"


def main():
    port, count, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    selector = selectors.DefaultSelector()
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        sockets.append(sock)
        selector.register(sock, selectors.EVENT_WRITE, b"")
    served = 0
    deadline = time.time() + 120
    pending = count
    while pending and time.time() < deadline:
        for key, events in selector.select(timeout=1):
            sock = key.fileobj
            if events & selectors.EVENT_WRITE:
                try:
                    sock.send(REQUEST)
                except OSError:
                    selector.unregister(sock)
                    pending -= 1
                    continue
                selector.modify(sock, selectors.EVENT_READ, b"")
            elif events & selectors.EVENT_READ:
                try:
                    data = key.data + sock.recv(4096)
                except OSError:
                    data = b""
                if b"\r\n\r\n" in data or not data:
                    selector.unregister(sock)
                    pending -= 1
                    served += 1 if data.startswith(b"HTTP/1.1 200") else 0
                else:
                    selector.modify(sock, selectors.EVENT_READ, data)
    print(f"open={count - pending} served={served}", flush=True)
    time.sleep(seconds)
    still_open = 0
    for sock in sockets:
        try:
            # a closed connection reads as EOF; an open idle one has nothing to read
            still_open += 1 if sock.recv(1, socket.MSG_PEEK) is None else 0
        except BlockingIOError:
            still_open += 1
        except OSError:
            pass
        sock.close()
    print(f"still_open={still_open}", flush=True)


if __name__ == "__main__":
    main()
