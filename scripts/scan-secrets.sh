#!/usr/bin/env bash
# Secrets scan for CI: fails when a tracked (or new, not ignored) file holds
# something that looks like a credential. The original project shipped a mail
# password and an API key in its source; this keeps that from happening again.
# Usage: scripts/scan-secrets.sh   (exit 0: clean, 1: findings)
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

# Patterns for well-known credential formats, anywhere.
specific=(
  'AKIA[0-9A-Z]{16}'                                  # AWS access key id
  'ASIA[0-9A-Z]{16}'                                  # AWS temporary key id
  'aws_secret_access_key[[:space:]]*[=:]'             # AWS secret in a config
  '-----BEGIN ([A-Z]+ )?PRIVATE KEY-----'             # PEM private keys
  'gh[pousr]_[A-Za-z0-9]{36}'                         # GitHub tokens
  'github_pat_[A-Za-z0-9_]{40,}'
  'xox[abprs]-[A-Za-z0-9-]{10,}'                      # Slack tokens
  'AIza[0-9A-Za-z_-]{35}'                             # Google API keys
  'sk_live_[0-9A-Za-z]{20,}'                          # Stripe live keys
  'SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}'          # SendGrid keys
  '[a-z][a-z0-9+.-]*://[^/[:space:]:@]+:[^/[:space:]@]{3,}@[^[:space:]]+'  # URLs with a password
)
# Assignments of long literal secrets, outside tests, load generators and docs (they use
# throwaway passwords on purpose).
generic='(password|passwd|secret|api[_-]?key|auth[_-]?token|access[_-]?token)["'"'"']?[[:space:]]*[:=][[:space:]]*["'"'"'][^"'"'"'[:space:]]{12,}["'"'"']'

found=0
scan() {
  # --untracked: new files count too; ignored files (.data/, node_modules/) do not.
  if git grep --untracked -nIE "$@"; then found=1; fi
}
for p in "${specific[@]}"; do scan -e "$p" -- . ':!package-lock.json' ':!scripts/scan-secrets.sh'; done
scan -i -e "$generic" -- . ':!test/**' ':!bench/**' ':!**/*.md' ':!package-lock.json' ':!scripts/scan-secrets.sh'

# Environment files must never be committed.
if git ls-files --cached --others --exclude-standard | grep -E '(^|/)\.env(\..+)?$' | grep -vE '\.env\.example$'; then found=1; fi

if [ "$found" -ne 0 ]; then
  echo "secrets scan: possible credentials above; move them to the environment or Secrets Manager." >&2
  exit 1
fi
echo "secrets scan: clean ($(git ls-files --cached --others --exclude-standard | wc -l) files)"
