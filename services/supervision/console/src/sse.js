// Server-sent events over fetch: EventSource cannot send the Authorization header. The stream is
// parsed per the SSE format (event/data/id fields, blank line ends a message), reconnects after an
// error with a growing pause (at most 5 s), and treats 15 s of silence as a dead connection
// (the server sends a heartbeat every second; a proxy may hold a broken one open).

import { request } from "./api.js";

const MAX_BACKOFF_MS = 5000;
const SILENCE_MS = 15_000;

/** Read one response body, calling onMessage(event, data) per message, until it ends. */
async function read(body, onMessage, onActivity) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "";
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    onActivity();
    buffer += decoder.decode(value, { stream: true });
    // A chunk may end between "\r" and "\n": keep a trailing "\r" for the next chunk.
    const cut = buffer.endsWith("\r") ? buffer.length - 1 : buffer.length;
    const lines = buffer.slice(0, cut).split(/\r\n|\r|\n/);
    buffer = lines.pop() + buffer.slice(cut);
    for (const line of lines) {
      if (line === "") {
        if (data.length) onMessage(event || "message", data.join("\n"));
        event = "";
        data = [];
        continue;
      }
      if (line.startsWith(":")) continue; // a comment (keep-alive)
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
  }
}

/**
 * Keep a stream open until stop() is called. `path()` is asked again at each (re)connection, so
 * the caller can add `after=<last id>`. Handlers: onMessage(event, data), onOpen(), onError(error, retryMs).
 */
export function subscribe(path, { onMessage, onOpen, onError }) {
  let stopped = false;
  let controller = null;
  let backoff = 0;
  let wake = null;

  async function once() {
    controller = new AbortController();
    let silence = null;
    const alive = () => {
      clearTimeout(silence);
      silence = setTimeout(() => controller.abort(), SILENCE_MS);
    };
    try {
      alive();
      const response = await request(path(), { signal: controller.signal, accept: "text/event-stream" });
      onOpen?.();
      await read(
        response.body,
        (event, data) => {
          backoff = 0; // a message came through: the connection is good again
          onMessage(event, data);
        },
        alive,
      );
      if (!stopped) throw new Error("实时数据连接已被服务器关闭 (stream ended)");
    } finally {
      clearTimeout(silence);
    }
  }

  (async () => {
    while (!stopped) {
      try {
        await once();
      } catch (error) {
        if (stopped) return;
        backoff = Math.min(backoff ? backoff * 2 : 500, MAX_BACKOFF_MS);
        const reason = error.name === "AbortError" ? new Error("实时数据长时间无响应 (stream silent)") : error;
        onError?.(reason, backoff);
        await new Promise((resolve) => {
          wake = resolve;
          setTimeout(resolve, backoff);
        });
      }
    }
  })();

  return function stop() {
    stopped = true;
    controller?.abort();
    wake?.();
  };
}
