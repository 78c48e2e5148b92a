// HTTP/1.1 requests written byte for byte, for what Node's http client refuses to send (header values with bytes
// outside printable ASCII, a header repeated a hundred times in a chosen letter case, 64 KiB values).

import net from "node:net";

/**
 * Sends `GET <path>` with `headers` ([name, value] pairs; a value is text, sent as latin1, or a Buffer) on a
 * connection of its own and reads the answer until Envoy closes it.
 * -> { status, headers: [[lower-case name, value]], header(name), body (text) }
 */
export function rawRequest(port, headers, { path = "/", host = "helloworld:8000", timeoutMs = 5000 } = {}) {
  const lines = [`GET ${path} HTTP/1.1`, `host: ${host}`, "connection: close"].map((l) => Buffer.from(`${l}\r\n`));
  for (const [name, value] of headers)
    lines.push(Buffer.from(`${name}: `, "latin1"), Buffer.from(value, "latin1"), Buffer.from("\r\n"));
  lines.push(Buffer.from("\r\n"));
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let received = Buffer.alloc(0);
    const finish = () => {
      socket.destroy();
      try {
        resolve(parseResponse(received));
      } catch (err) {
        reject(err);
      }
    };
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`raw request to port ${port} timed out`)));
    socket.on("error", reject);
    // Envoy waits up to delayed_close_timeout (1 s) for the client to close after a local reply: read only
    // until the response is complete, then close.
    socket.on("data", (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (isComplete(received)) finish();
    });
    socket.on("end", finish);
    socket.write(Buffer.concat(lines));
  });
}

/** Whether `bytes` hold a whole response (headers, then content-length bytes or every chunk). */
function isComplete(bytes) {
  const end = bytes.indexOf("\r\n\r\n");
  if (end < 0) return false;
  const head = bytes.subarray(0, end).toString("latin1").toLowerCase();
  const length = /\r\ncontent-length: *(\d+)/.exec(head);
  if (length) return bytes.length - end - 4 >= Number(length[1]);
  if (/\r\ntransfer-encoding: *chunked/.test(head))
    return (
      bytes.subarray(end + 4).includes("\r\n0\r\n\r\n") ||
      bytes
        .subarray(end + 4)
        .subarray(0, 5)
        .toString() === "0\r\n\r\n"
    );
  return false;
}

function parseResponse(bytes) {
  const end = bytes.indexOf("\r\n\r\n");
  if (end < 0) throw new Error(`no HTTP response: ${JSON.stringify(bytes.toString("latin1").slice(0, 200))}`);
  const [statusLine, ...headerLines] = bytes.subarray(0, end).toString("latin1").split("\r\n");
  const headers = headerLines.map((l) => {
    const colon = l.indexOf(":");
    return [l.slice(0, colon).toLowerCase(), l.slice(colon + 1).trim()];
  });
  const header = (name) => headers.find(([n]) => n === name)?.[1];
  const payload = bytes.subarray(end + 4);
  const body = (header("transfer-encoding") === "chunked" ? dechunk(payload) : payload).toString("utf8");
  return {
    status: Number(statusLine.split(" ")[1]),
    headers,
    header,
    body: body.trimEnd(),
  };
}

function dechunk(bytes) {
  const parts = [];
  for (let at = 0; ; ) {
    const lineEnd = bytes.indexOf("\r\n", at);
    const size = parseInt(bytes.subarray(at, lineEnd).toString("latin1"), 16);
    if (!(size > 0)) return Buffer.concat(parts);
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}
