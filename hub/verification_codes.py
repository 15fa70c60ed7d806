"""A case's verification code (查询码): the applicant's secret for the progress query, kept past
bronze only as HMAC-SHA256 under the hub's key (`HUB_CASE_CODE_KEY`).

A plain hash of a short code is reversed by trying every code; a keyed one needs the key too, which
lives in the settings, never in the lake. Silver computes the HMAC in Spark (`jobs.case_progress`)
from the pads below and the API computes it in Python (`case_code_hmac`): both hash the code as
`normalised_code` makes it, so the two agree byte for byte.
"""

from __future__ import annotations

import hashlib
import hmac
import re

# SHA-256's block size: HMAC pads (or first hashes) the key to this many bytes (RFC 2104).
BLOCK_BYTES = 64
INNER_PAD = 0x36
OUTER_PAD = 0x5C


# What a code is printed or typed with that is not part of it: the blanks and hyphens grouping it.
# Spelled out (not \s) so Spark's Java regex and Python's read the same characters.
SEPARATORS = "[ \t\r\n-]"


def normalised_code(code: str) -> str:
    """The code as both sides hash it: without the blanks and hyphens grouping it, in capitals, so
    a code printed in groups or in lower case (as some departments do) still matches."""
    return re.sub(SEPARATORS, "", code).upper()


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The key XOR the inner pad and XOR the outer pad: HMAC(K, m) = H(outer || H(inner || m)).

    What lets Spark compute a real HMAC with its built-in `sha2`, which has no keyed variant.
    """
    if len(key) > BLOCK_BYTES:
        key = hashlib.sha256(key).digest()
    key = key.ljust(BLOCK_BYTES, b"\0")
    return bytes(b ^ INNER_PAD for b in key), bytes(b ^ OUTER_PAD for b in key)


def case_code_hmac(key: bytes, code: str) -> str:
    """HMAC-SHA256 of the normalised code under `key`, as lower-case hex (what silver and gold hold)."""
    return hmac.new(key, normalised_code(code).encode("utf-8"), hashlib.sha256).hexdigest()


def same_hmac(presented: str, stored: str) -> bool:
    """Compared in constant time, so the time taken tells nothing about how much of it matched."""
    return hmac.compare_digest(presented.encode("ascii"), stored.encode("ascii"))
