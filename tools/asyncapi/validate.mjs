// Validates an AsyncAPI document with the official parser; prints every diagnostic as JSON lines
// and exits 1 when any is an error.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const path = process.argv[2];
const diagnostics = await new Parser().validate(readFileSync(path, "utf8"));
for (const d of diagnostics) {
  console.log(JSON.stringify({ severity: d.severity, code: d.code, message: d.message, path: d.path.join(".") }));
}
process.exit(diagnostics.some((d) => d.severity === 0) ? 1 : 0);
