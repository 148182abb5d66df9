"""burst.py PORT N — opens N connections to 127.0.0.1:PORT at once, sends one request on
each, reads the answers, closes them all, and prints how many were answered. Bounded: every
socket has a 10 s timeout."""
import resource
import socket
import sys


def main():
    port, count = int(sys.argv[1]), int(sys.argv[2])
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sockets = []
    for _ in range(min(count, hard - 64)):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b"GET /movie/?rating=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        sockets.append(sock)
    answered = 0
    for sock in sockets:
        try:
            if sock.recv(64).startswith(b"HTTP/1.1 200"):
                answered += 1
        except OSError:
            pass
    for sock in sockets:
        sock.close()
    print("answered", answered)


if __name__ == "__main__":
    main()
