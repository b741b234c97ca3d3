"""wrk scripts: the request a row sends, and the check of every answer it gets.

wrk runs a script in one Lua state per thread plus one main state. Each thread
counts the answers whose status is 2xx and whose body contains `expect`, and the
main state's `done` adds the threads' counts and prints them (BODYCHECK, with the
first bad answer as BODYSAMPLE), which bench.harness.wrk parses. Every row checks
every answer, so the load generator does the same work per answer in every row.

Single-use credentials (wallet signatures) go in `rows`: a tab-separated data file
read by each thread in `init`, each thread taking every threads-th row, each sent
once in turn. A thread that runs out starts over, and its repeats are refused and
counted as bad answers: send more rows than requests.
"""

from __future__ import annotations

import json
import os
import tempfile


def _lua_string(text: str) -> str:
    # JSON string syntax is valid Lua for the printable ASCII we send.
    if not text.isascii():
        raise ValueError("wrk script strings must be ASCII")
    return json.dumps(text)


def script(
    *,
    expect: str,
    method: str = "GET",
    body: str | None = None,
    headers: dict[str, str] | None = None,
    rows: list[dict[str, str]] | None = None,
    threads: int = 2,
    status: int | None = None,
) -> str:
    """Write a wrk script; returns its path (the caller deletes it and path + ".tsv").
    An answer is good when its body holds `expect` and its status is `status`
    (any 2xx when None: a row of refusals, such as a 402, names its status)."""
    lines = [f"wrk.method = {_lua_string(method)}"]
    if body is not None:
        lines.append(f"wrk.body = {_lua_string(body)}")
    for name, value in (headers or {}).items():
        lines.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    fd, path = tempfile.mkstemp(suffix=".lua")
    rotating = ""
    if rows is not None:
        rotating = _rotating(rows, path + ".tsv", threads=threads)
    wanted = "status >= 200 and status < 300" if status is None else f"status == {int(status)}"
    check = _CHECK.replace("EXPECT", _lua_string(expect)).replace("STATUS_OK", wanted)
    text = "\n".join(lines) + check + rotating
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def cleanup(path: str) -> None:
    for leftover in (path, path + ".tsv"):
        if os.path.exists(leftover):
            os.unlink(leftover)


_CHECK = """
local expect = EXPECT
local threads = {}
local next_id = 0
ok, bad, sample = 0, 0, nil

-- Main state, once per thread: number the threads and keep them for `done`.
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function response(status, headers, body)
  if STATUS_OK and body and string.find(body, expect, 1, true) then
    ok = ok + 1
  else
    bad = bad + 1
    if sample == nil then
      sample = status .. " " .. string.gsub(string.sub(body or "", 1, 300), "\\n", " ")
    end
  end
end

function done(summary, latency, requests)
  local total_ok, total_bad, first = 0, 0, nil
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_bad = total_bad + thread:get("bad")
    first = first or thread:get("sample")
  end
  io.write(string.format("BODYCHECK ok=%d bad=%d\\n", total_ok, total_bad))
  if first then io.write("BODYSAMPLE " .. first .. "\\n") end
end
"""


def _rotating(rows: list[dict[str, str]], data_path: str, *, threads: int) -> str:
    if not rows or len(rows) < threads:
        raise ValueError(f"need at least {threads} rows, one per wrk thread")
    names = list(rows[0])
    for row in rows:
        values = [row[name] for name in names]
        if list(row) != names or any(not v or any(c in v for c in "\t\r\n") for v in values):
            raise ValueError("rows need the same header names and non-empty one-line values")
    with open(data_path, "w") as f:
        f.write("\t".join(names) + "\n")
        f.writelines("\t".join(row[name] for name in names) + "\n" for row in rows)
    return f"""
local nthreads = {threads}
local datafile = {_lua_string(data_path)}
local rows = {{}}
local i = 0

-- Each thread's own state: keep this thread's share of the rows.
function init(args)
  local f = assert(io.open(datafile, "r"))
  local names = {{}}
  for name in f:read("*l"):gmatch("[^\\t]+") do names[#names + 1] = name end
  local n = 0
  for line in f:lines() do
    if n % nthreads == tid then
      local row, k = {{}}, 1
      for value in line:gmatch("[^\\t]+") do
        row[names[k]] = value
        k = k + 1
      end
      rows[#rows + 1] = row
    end
    n = n + 1
  end
  f:close()
end

request = function()
  i = i + 1
  local row = rows[((i - 1) % #rows) + 1]
  for k, v in pairs(row) do wrk.headers[k] = v end
  return wrk.format(nil)
end
"""
