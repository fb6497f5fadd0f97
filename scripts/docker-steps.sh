#!/usr/bin/env bash
# Runs the Dockerfile's install and start steps without a Docker engine, so the
# Dockerfile cannot drift from what works. It reads the RUN/COPY/CMD lines of
# the Dockerfile itself rather than repeating them.
#
#   scripts/docker-steps.sh [WORKDIR]     (default: a fresh temporary folder)
#
# Builds /venv and /app under WORKDIR, starts the CMD with ALERTNET_INSTANCE in
# WORKDIR/data on a free 127.0.0.1 port and waits for /healthz; then runs the
# image's other command, `alertnet worker` (once), and waits for /readyz to say
# ready (schema at head, a worker's heartbeat); then stops the hub.
set -euo pipefail
project=$(cd "$(dirname "$0")/.." && pwd)
root=${1:-$(mktemp -d)}
mkdir -p "$root/app" "$root/data"
python=${PYTHON:-python3}

# Stage "build": replay COPY and RUN with /venv and /app rebased under $root.
in_build=0
while IFS= read -r line; do
  case "$line" in
    "FROM "*" AS build") in_build=1; continue ;;
    "FROM "*) in_build=0 ;;
  esac
  [ "$in_build" = 1 ] || continue
  case "$line" in
    "RUN python -m venv /venv") "$python" -m venv "$root/venv" ;;
    "COPY "*)
      read -r -a words <<<"${line#COPY }"
      dest=${words[-1]}
      for src in "${words[@]:0:${#words[@]}-1}"; do
        case "$dest" in ./) cp -r "$project/$src" "$root/app/" ;;
                        *) cp -r "$project/$src" "$root/app/${dest#./}" ;; esac
      done ;;
    "RUN /venv/bin/pip "*)
      cmd=${line#RUN /venv/bin/pip }
      (cd "$root/app" && "$root/venv/bin/pip" --disable-pip-version-check -q $cmd) ;;
    "RUN "*) echo "docker-steps: unhandled step: $line" >&2; exit 1 ;;
  esac
done < "$project/Dockerfile"

# Stage "runtime": the CMD, with a free port instead of 8000 and loopback only.
cmd=$(sed -n 's/^CMD \["sh", "-c", "\(.*\)"\]$/\1/p' "$project/Dockerfile" | sed 's/\\"/"/g')
port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cmd=${cmd//0.0.0.0:8000/127.0.0.1:$port}
(cd "$root/app" && env -i PATH="$root/venv/bin:/usr/bin:/bin" ALERTNET_INSTANCE="$root/data" \
   PYTHONDONTWRITEBYTECODE=1 HOME="$root" sh -c "$cmd" >"$root/server.log" 2>&1) &
server=$!
trap 'kill $server 2>/dev/null; pkill -f "127.0.0.1:$port" 2>/dev/null || true' EXIT
answers() {
  "$python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/$1')" 2>/dev/null
}
serving=0
for _ in $(seq 1 60); do
  if answers healthz; then serving=1; break; fi
  sleep 1
done
if [ "$serving" != 1 ]; then
  echo "docker-steps: the hub did not start; its log:" >&2
  cat "$root/server.log" >&2
  exit 1
fi
echo "docker-steps: the image's start command serves /healthz on 127.0.0.1:$port"
(cd "$root/app" && env -i PATH="$root/venv/bin:/usr/bin:/bin" ALERTNET_INSTANCE="$root/data" \
   PYTHONDONTWRITEBYTECODE=1 HOME="$root" sh -c "alertnet worker --once" >"$root/worker.log" 2>&1) || {
  echo "docker-steps: 'alertnet worker' failed; its log:" >&2
  cat "$root/worker.log" >&2
  exit 1
}
if answers readyz; then
  echo "docker-steps: the image's 'alertnet worker' ran and /readyz says ready"
  exit 0
fi
echo "docker-steps: /readyz is not ready after the worker ran:" >&2
"$python" -c "import urllib.request
try: urllib.request.urlopen('http://127.0.0.1:$port/readyz')
except Exception as e: print(e.read().decode())" >&2
exit 1
