#!/bin/sh
# Makes the Docker secrets docker-compose.yml reads, once, in docker/secrets/:
#   postgres_password  the database password (read by the postgres service)
#   database_url       DATABASE_URL for MediaNest, with that password in it
#   secret_key         MEDIANEST_SECRET_KEY (sessions, and the key of the stored service settings)
#   admin_password     the local admin's password (printed once below)
# An existing file is kept: re-running never changes a secret in use.
set -eu
cd "$(dirname "$0")/secrets"
umask 077

random() {
    # URL-safe, so the password can sit in DATABASE_URL as it is.
    od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

made=""
write() {
    if [ ! -s "$1" ]; then
        printf '%s' "$2" >"$1"
        made="$made $1"
    fi
}

write postgres_password "$(random 24)"
write database_url "postgresql://medianest:$(cat postgres_password)@postgres:5432/medianest"
write secret_key "$(random 48)"
write admin_password "$(random 12)"
# The containers run as uid 1000; the folder stays private to this user.
chmod 0700 .
chmod 0644 postgres_password database_url secret_key admin_password

if [ -n "$made" ]; then
    echo "made:$made (in $(pwd))"
fi
echo "local admin: user 'admin', password $(cat admin_password)"
