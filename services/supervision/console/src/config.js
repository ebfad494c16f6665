// Where the console lives and what the server tells it before login. The base is taken from this
// script's own address, so the console works wherever supervision serves it (normally /console/).

export const BASE = new URL(".", import.meta.url);

/** GET config.json (no token needed): issuer, client id, departments, alarm threshold. */
export async function loadConfig() {
  let response;
  try {
    response = await fetch(new URL("config.json", BASE), { cache: "no-store" });
  } catch {
    throw new Error("无法读取控制台配置 (config.json unreachable)");
  }
  if (!response.ok) throw new Error(`无法读取控制台配置 (config.json: HTTP ${response.status})`);
  const config = await response.json();
  config.departments ||= {};
  return config;
}

/** A department's Chinese name from the configuration, else its code. */
export function departmentName(config, code, given) {
  if (given) return given;
  if (!code) return "—";
  return config.departments[code] || code;
}
