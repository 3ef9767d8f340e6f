"""A TCP relay that can cut every connection through it, as a flaky Wi-Fi or
a NAT that forgets its mappings does to a WebSocket, while the server behind
it stays up. SIGUSR1 cuts all current connections (new ones are relayed as
before). Writes READY_FILE once listening.

usage: relay.py LISTEN_PORT UPSTREAM_PORT READY_FILE
"""
import selectors
import signal
import socket
import sys

listen_port, upstream_port, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
sel = selectors.DefaultSelector()
pairs = {}  # socket -> its peer
cut_requested = False


def on_cut(*_):
    global cut_requested
    cut_requested = True


signal.signal(signal.SIGUSR1, on_cut)
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", listen_port))
server.listen(64)
server.setblocking(False)
sel.register(server, selectors.EVENT_READ)
with open(ready, "w") as f:
    f.write("ready\n")


def close(sock):
    peer = pairs.pop(sock, None)
    for s in (sock, peer):
        if s is None:
            continue
        pairs.pop(s, None)
        try:
            sel.unregister(s)
        except (KeyError, ValueError):
            pass
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


while True:
    try:
        events = sel.select(timeout=0.05)
    except InterruptedError:
        events = []
    if cut_requested:
        cut_requested = False
        for sock in list(pairs):
            close(sock)
    for key, _ in events:
        sock = key.fileobj
        if sock is server:
            client, _ = server.accept()
            upstream = socket.create_connection(("127.0.0.1", upstream_port))
            for s in (client, upstream):
                s.setblocking(False)
                sel.register(s, selectors.EVENT_READ)
            pairs[client], pairs[upstream] = upstream, client
            continue
        if sock not in pairs:
            continue
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            data = b""
        if not data:
            close(sock)
            continue
        try:
            pairs[sock].sendall(data)
        except OSError:
            close(sock)
