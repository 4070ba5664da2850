#!/usr/bin/env bash
# infra-security part 1 on local defaults (no server): a keyring generated in a temp dir, a payload encrypted
# and decrypted, a few audit events written, the trail verified, a tampered copy caught.
set -euo pipefail
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export INFRA_SECURITY_KEYSET_FILE="$work/keyset.json"
export INFRA_AUDIT_DIR="$work/audit"

echo "--- 1. a local keyring (mode 0600)"
infra-security keys generate --name encryption_key_1 -o "$INFRA_SECURITY_KEYSET_FILE"

echo "--- 2. encrypt and decrypt a payload bound to a tenant"
ciphertext="$(echo '{"card": "4111 1111 1111 1111", "amount": 42}' | infra-security payload encrypt -c tenant=acme)"
echo "ciphertext: ${ciphertext:0:48}..."
echo "$ciphertext" | infra-security payload decrypt -c tenant=acme
if echo "$ciphertext" | infra-security payload decrypt -c tenant=evil 2>/dev/null; then
  echo "a ciphertext moved to another tenant must not decrypt" >&2
  exit 1
fi
echo "moved to tenant=evil: refused, as it should be"

echo "--- 3. the documented Python API, a rotation and a rewrap"
python - <<'PY'
from infra_security import AuditLogger, Keyring, PayloadEncryption

encryptor = PayloadEncryption(key_id="encryption_key_1")  # the keyset comes from INFRA_SECURITY_KEYSET_FILE
encrypted = encryptor.encrypt_payload({"user": "user123", "ssn": "078-05-1120"}, context={"topic": "users"})
assert encryptor.decrypt_payload(encrypted) == {"user": "user123", "ssn": "078-05-1120"}
print(f"encrypted with {encrypted.key_id}, decrypted back")
encryptor.backend.keyring.rotate()
print(f"after rotation, rewrapped to {encryptor.rewrap(encrypted).key_id}")

logger = AuditLogger()  # writes to $INFRA_AUDIT_DIR (default ~/.local/state/infra-security/audit)
logger.log_security_event(event_type="authentication", user_id="user123", action="login", outcome="success")
logger.log_security_event(event_type="authentication", user_id="mallory", action="login", outcome="failure",
                          details={"password": "hunter2"})
logger.log_security_event(event_type="key_management", user_id="ops", action="rotate", outcome="success")
logger.close()
print(f"3 audit events written to {logger.directory}")
PY
if grep -q hunter2 "$INFRA_AUDIT_DIR/audit.jsonl"; then echo "secret leaked into the log" >&2; exit 1; fi
hashed="$(infra-security audit hash hunter2)"
grep -q "$hashed" "$INFRA_AUDIT_DIR/audit.jsonl"
echo "the password was redacted to ${hashed:0:28}... (same keyed hash as \`infra-security audit hash hunter2\`)"

echo "--- 4. verify the trail, then catch a deleted record"
infra-security audit verify "$INFRA_AUDIT_DIR/audit.jsonl" --checkpoints "$INFRA_AUDIT_DIR/checkpoints.jsonl"
sed '2d' "$INFRA_AUDIT_DIR/audit.jsonl" > "$work/tampered.jsonl"
if infra-security audit verify "$work/tampered.jsonl" --keys "$INFRA_AUDIT_DIR/audit-keys.json"; then
  echo "a deleted record must be detected" >&2
  exit 1
fi
infra-security audit report "$INFRA_AUDIT_DIR/audit.jsonl" --verify --checkpoints "$INFRA_AUDIT_DIR/checkpoints.jsonl" \
  --format markdown > "$work/report.md"
head -5 "$work/report.md"
