#!/bin/sh
# The image's entry point: checks the folders MediaNest writes, then runs the
# command (web: `medianest run --host 0.0.0.0`, `medianest worker`,
# `medianest beat`, `medianest db upgrade`, or any other command).
#
# A folder that cannot be written stops the container with one line naming
# the setting, instead of a traceback the first time a download finishes.
set -eu

fail() {
    echo "medianest: $*" >&2
    exit 2
}

# setting_value NAME: the value of NAME, or the content of the file NAME_FILE names.
setting_value() {
    eval "value=\${$1:-}"
    eval "file=\${$1_FILE:-}"
    if [ -z "$value" ] && [ -n "$file" ]; then
        [ -r "$file" ] || fail "setting ${1}_FILE: cannot read $file"
        value=$(cat "$file")
    fi
    printf '%s' "$value"
}

# must_be_writable NAME PATH: create PATH if needed and prove a file can be written in it.
must_be_writable() {
    mkdir -p "$2" 2>/dev/null || fail "setting $1: cannot create the folder $2 (user $(id -u):$(id -g))"
    probe="$2/.medianest-write-test-$$"
    if ! (: >"$probe") 2>/dev/null; then
        fail "setting $1: the folder $2 is not writable by user $(id -u):$(id -g) (chown the volume or choose another folder)"
    fi
    rm -f "$probe"
}

data_dir=$(setting_value MEDIANEST_DATA_DIR)
data_dir=${data_dir:-instance}
must_be_writable MEDIANEST_DATA_DIR "$data_dir"

download_root=$(setting_value MEDIANEST_YOUTUBE_DOWNLOAD_ROOT)
if [ -n "$download_root" ]; then
    must_be_writable MEDIANEST_YOUTUBE_DOWNLOAD_ROOT "$download_root"
else
    must_be_writable "MEDIANEST_DATA_DIR (its downloads folder)" "$data_dir/downloads"
fi

if [ "$#" -eq 0 ]; then
    set -- medianest run --host 0.0.0.0 --port 5000
fi
exec "$@"
