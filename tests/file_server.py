"""A loopback HTTP server (127.0.0.1 only) serving files from memory, for the download tests and their errors."""

from __future__ import annotations

import hashlib
import http.server
import threading

PAYLOAD = bytes(range(256)) * 1200  # 300 KiB, several read chunks
MD5 = hashlib.md5(PAYLOAD).hexdigest()


class Server:
    """Files served from memory with Range support; ``drop_after`` cuts the first response short; every request is logged."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.status: dict[str, int] = {}  # path -> forced HTTP error status
        self.drop_after: dict[str, int] = {}  # path -> bytes sent before the first response breaks off
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path, ranged = self.path.lstrip("/"), self.headers.get("Range")
                server.requests.append((path, ranged))
                if path in server.status:
                    return self.send_error(server.status[path])
                if path not in server.files:
                    return self.send_error(404)
                body = server.files[path]
                start = int(ranged.split("=")[1].split("-")[0]) if ranged else 0
                if start >= len(body) and ranged:
                    return self.send_error(416)
                self.send_response(206 if ranged else 200)
                if ranged:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                cut = server.drop_after.pop(path, None)
                self.wfile.write(body[start:] if cut is None else body[start:start + cut])
                if cut is not None:
                    self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
