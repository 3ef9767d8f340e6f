"""A school's web host for the discovery tests: serves DIR/doc.json at
/.well-known/estrade over HTTPS (real TLS, the test's own CA), answering with
what DIR/status says at the time of each request ("200", "404", or
"503 7" for a 503 with Retry-After: 7), and DIR/cache-control as the
Cache-Control header if that file exists. Every request is appended to
DIR/requests.log. Also listens, without ever answering, on SILENT_PORT: a
host that does not answer.

usage: serve.py DIR CERT KEY PORT SILENT_PORT
"""
import http.server
import os
import socket
import ssl
import sys

root, cert, key, port, silent_port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])


def read(name, default=None):
    try:
        with open(os.path.join(root, name), "rb") as f:
            return f.read()
    except FileNotFoundError:
        return default


class School(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(os.path.join(root, "requests.log"), "a") as log:
            log.write(self.path + "\n")
        status = (read("status", b"200").decode().split() or ["200"])
        code = int(status[0])
        body = read("doc.json", b"") if code == 200 and self.path == "/.well-known/estrade" else b"not here\n"
        if self.path != "/.well-known/estrade":
            code = 404
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if code == 503 and len(status) > 1:
            self.send_header("Retry-After", status[1])
        cache = read("cache-control")
        if cache:
            self.send_header("Cache-Control", cache.decode().strip())
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


silent = socket.socket()
silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
silent.bind(("127.0.0.1", silent_port))
silent.listen(16)  # never accepted: the handshake completes, then nothing

server = http.server.ThreadingHTTPServer(("127.0.0.1", port), School)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
with open(os.path.join(root, "ready"), "w") as f:
    f.write("ready\n")
server.serve_forever()
