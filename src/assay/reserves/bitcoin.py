"""Bitcoin-family building blocks for ownership checks: encodings, addresses, scripts, messages.

Pure functions over bytes and strings; the only cryptography is hashing and secp256k1 public-key
recovery (through ``coincurve``, the maintained binding of Bitcoin Core's libsecp256k1). The
encodings are written from their specifications, short enough to read against them:

- Base58Check: the Bitcoin wiki's "Base58Check encoding" (version byte, payload, 4 bytes of
  double SHA-256).
- Bech32 and Bech32m: BIP 173 and BIP 350, with the segwit rules (witness v0 takes Bech32 and a
  20- or 32-byte program, v1-16 take Bech32m).
- Message signatures: Bitcoin Core's ``signmessage`` (double SHA-256 of the var_str-framed magic
  and message) with the 65-byte compact signature of BIP 137, whose header byte (27-42) carries the
  recovery id, whether the key is compressed and the address flavour the signer meant.

Nothing here decides whether an address is owned: ``ownership.py`` does, from these facts. Bad
input raises :class:`~assay.errors.InvalidInput` naming what was wrong; this module never reports
a verdict.
"""

from __future__ import annotations

import base64
import enum
import hashlib
from dataclasses import dataclass

import coincurve

from assay.errors import InvalidInput

__all__ = [
    "BITCOIN",
    "DOGECOIN",
    "LITECOIN",
    "AddressKind",
    "Bech32Spec",
    "ChainParams",
    "CompactSignature",
    "Destination",
    "Flavour",
    "Multisig",
    "b58check_decode",
    "b58check_encode",
    "b58decode",
    "b58encode",
    "bech32_decode",
    "bech32_encode",
    "convert_bits",
    "decode_address",
    "frame_message",
    "hash160",
    "message_digest",
    "p2wpkh_script",
    "p2wsh_script",
    "parse_compact_signature",
    "parse_multisig",
    "segwit_encode",
    "sha256d",
]


# --- hashes ---------------------------------------------------------------------------------


def sha256d(data: bytes) -> bytes:
    """SHA-256 applied twice, Bitcoin's checksum and message hash."""
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def hash160(data: bytes) -> bytes:
    """RIPEMD-160 of SHA-256: the hash inside P2PKH, P2WPKH and P2SH addresses."""
    # hashlib takes RIPEMD-160 from OpenSSL, whose default provider has it again since 3.0.7.
    return hashlib.new("ripemd160", hashlib.sha256(data).digest()).digest()


# --- Base58Check ----------------------------------------------------------------------------

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}


def b58encode(data: bytes) -> str:
    """Base58 text of ``data``; each leading zero byte becomes a leading ``1``."""
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rest = divmod(number, 58)
        digits.append(_B58[rest])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(digits))


def b58decode(text: str) -> bytes:
    """The bytes of a Base58 string; InvalidInput on a character outside the alphabet."""
    number = 0
    for char in text:
        digit = _B58_INDEX.get(char)
        if digit is None:
            raise InvalidInput(f"{char!r} is not a Base58 character", field="address", value=text)
        number = number * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")


def b58check_encode(payload: bytes) -> str:
    """Base58Check of ``payload`` (version bytes included), with its 4-byte checksum."""
    return b58encode(payload + sha256d(payload)[:4])


def b58check_decode(text: str) -> bytes:
    """The payload (version bytes included) of a Base58Check string whose checksum holds."""
    raw = b58decode(text)
    if len(raw) < 5 or sha256d(raw[:-4])[:4] != raw[-4:]:
        raise InvalidInput(f"{text!r} fails its Base58Check checksum", field="address", value=text)
    return raw[:-4]


# --- Bech32 / Bech32m (BIP 173, BIP 350) -------------------------------------------------------

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


class Bech32Spec(enum.IntEnum):
    """The checksum constant: BIP 173's Bech32 or BIP 350's Bech32m."""

    BECH32 = 1
    BECH32M = 0x2BC830A3


def _polymod(values: list[int]) -> int:
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i, generator in enumerate(_GENERATOR):
            if (top >> i) & 1:
                check ^= generator
    return check


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def bech32_encode(hrp: str, data: list[int], spec: Bech32Spec) -> str:
    """The Bech32(m) string of 5-bit ``data`` under ``hrp``."""
    polymod = _polymod([*_hrp_expand(hrp), *data, 0, 0, 0, 0, 0, 0]) ^ spec
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_CHARSET[d] for d in [*data, *checksum])


def bech32_decode(text: str, *, max_length: int = 90) -> tuple[str, list[int], Bech32Spec]:
    """Split a Bech32(m) string into its prefix, 5-bit data and checksum kind (BIP 173 rules).

    ``max_length`` is BIP 173's 90 characters; Cardano addresses need more.
    """
    bad = InvalidInput(f"{text!r} is not a Bech32 string", field="address", value=text)
    if text.lower() != text and text.upper() != text:
        raise bad  # mixed case is refused by BIP 173
    lowered = text.lower()
    sep = lowered.rfind("1")
    if sep < 1 or sep + 7 > len(lowered) or len(lowered) > max_length:
        raise bad
    hrp = lowered[:sep]
    if any(ord(c) < 33 or ord(c) > 126 for c in hrp) or any(
        c not in _CHARSET for c in lowered[sep + 1 :]
    ):
        raise bad
    data = [_CHARSET.index(c) for c in lowered[sep + 1 :]]
    try:
        spec = Bech32Spec(_polymod(_hrp_expand(hrp) + data))
    except ValueError:
        raise InvalidInput(
            f"{text!r} fails its Bech32 checksum", field="address", value=text
        ) from None
    return hrp, data[:-6], spec


def convert_bits(data: list[int] | bytes, from_bits: int, to_bits: int, *, pad: bool) -> bytes:
    """Regroup bits (5-bit Bech32 groups to bytes and back), refusing non-zero padding."""
    acc = bits = 0
    out = []
    max_value = (1 << to_bits) - 1
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & max_value)
    if pad and bits:
        out.append((acc << (to_bits - bits)) & max_value)
    elif not pad and (bits >= from_bits or (acc << (to_bits - bits)) & max_value):
        raise InvalidInput("invalid padding in a Bech32 payload", field="address")
    return bytes(out)


def segwit_encode(hrp: str, version: int, program: bytes) -> str:
    """The segwit address of a witness program (Bech32 for v0, Bech32m after: BIP 350)."""
    spec = Bech32Spec.BECH32 if version == 0 else Bech32Spec.BECH32M
    return bech32_encode(hrp, [version, *convert_bits(program, 8, 5, pad=True)], spec)


def _segwit_decode(hrp: str, text: str) -> tuple[int, bytes]:
    found_hrp, data, spec = bech32_decode(text)
    if found_hrp != hrp or not data:
        raise InvalidInput(f"{text!r} is not a {hrp}1 segwit address", field="address", value=text)
    version, program = data[0], convert_bits(data[1:], 5, 8, pad=False)
    wanted = Bech32Spec.BECH32 if version == 0 else Bech32Spec.BECH32M
    if (
        version > 16
        or spec != wanted
        or not 2 <= len(program) <= 40
        or (version == 0 and len(program) not in (20, 32))
    ):
        raise InvalidInput(f"{text!r} breaks the segwit address rules", field="address", value=text)
    return version, program


# --- chains and addresses ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChainParams:
    """What differs between Bitcoin-family chains for address and message checks."""

    name: str
    magic: bytes  # the signmessage prefix, e.g. b"Bitcoin Signed Message:\n"
    p2pkh: int  # Base58Check version byte of pay-to-pubkey-hash addresses
    p2sh: tuple[int, ...]  # version bytes of pay-to-script-hash addresses
    hrp: str | None  # segwit prefix, None where the chain has no segwit


BITCOIN = ChainParams("Bitcoin", b"Bitcoin Signed Message:\n", 0x00, (0x05,), "bc")
DOGECOIN = ChainParams("Dogecoin", b"Dogecoin Signed Message:\n", 0x1E, (0x16,), None)
# Litecoin's 3... addresses (version 5) predate its M... ones (0x32); both are still in use.
LITECOIN = ChainParams("Litecoin", b"Litecoin Signed Message:\n", 0x30, (0x32, 0x05), "ltc")


class AddressKind(enum.StrEnum):
    """What an output pays to, as its address says."""

    P2PKH = "P2PKH"
    P2SH = "P2SH"
    P2WPKH = "P2WPKH"
    P2WSH = "P2WSH"
    P2TR = "P2TR"
    WITNESS_OTHER = "witness"  # a future segwit version


@dataclass(frozen=True, slots=True)
class Destination:
    """A decoded address: its kind and the hash or witness program it carries."""

    kind: AddressKind
    payload: bytes


def decode_address(address: str, chain: ChainParams) -> Destination:
    """Decode a mainnet address of ``chain``; InvalidInput if it is not one."""
    if chain.hrp and address.lower().startswith(chain.hrp + "1"):
        version, program = _segwit_decode(chain.hrp, address)
        if version == 0:
            kind = AddressKind.P2WPKH if len(program) == 20 else AddressKind.P2WSH
        elif version == 1 and len(program) == 32:
            kind = AddressKind.P2TR
        else:
            kind = AddressKind.WITNESS_OTHER
        return Destination(kind, program)
    raw = b58check_decode(address)
    if len(raw) == 21 and raw[0] == chain.p2pkh:
        return Destination(AddressKind.P2PKH, raw[1:])
    if len(raw) == 21 and raw[0] in chain.p2sh:
        return Destination(AddressKind.P2SH, raw[1:])
    raise InvalidInput(
        f"{address!r} is not a {chain.name} mainnet address", field="address", value=address
    )


def p2wpkh_script(key: bytes) -> bytes:
    """The v0 witness program script ``OP_0 <hash160(key)>`` nested in P2SH-P2WPKH."""
    return b"\x00\x14" + hash160(key)


def p2wsh_script(witness_script: bytes) -> bytes:
    """The v0 witness program script ``OP_0 <sha256(script)>`` nested in P2SH-P2WSH."""
    return b"\x00\x20" + hashlib.sha256(witness_script).digest()


# --- scripts ----------------------------------------------------------------------------------

_OP_1, _OP_16, _OP_CHECKMULTISIG = 0x51, 0x60, 0xAE


@dataclass(frozen=True, slots=True)
class Multisig:
    """A bare ``m <key>... n OP_CHECKMULTISIG`` script: m of these keys must sign."""

    m: int
    keys: tuple[bytes, ...]


def parse_multisig(script: bytes) -> Multisig | None:
    """The m-of-n policy of a standard multisig script, or None if the script is anything else."""
    if len(script) < 3 or script[-1] != _OP_CHECKMULTISIG:
        return None
    m, n = script[0] - _OP_1 + 1, script[-2] - _OP_1 + 1
    keys: list[bytes] = []
    at = 1
    while at < len(script) - 2:
        size = script[at]
        if size not in (33, 65) or at + 1 + size > len(script) - 2:
            return None
        keys.append(script[at + 1 : at + 1 + size])
        at += 1 + size
    if not (1 <= m <= n <= 16 and _OP_1 <= script[0] <= _OP_16 and len(keys) == n):
        return None
    return Multisig(m, tuple(keys))


# --- message signatures (Bitcoin Core signmessage, BIP 137) -------------------------------------


def _var_int(n: int) -> bytes:
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    if n <= 0xFFFFFFFF:
        return b"\xfe" + n.to_bytes(4, "little")
    return b"\xff" + n.to_bytes(8, "little")


def frame_message(magic: bytes, message: str) -> bytes:
    """``var_str(magic) || var_str(message)``: what signmessage hashes (and OKX's own scheme)."""
    body = message.encode("utf-8")
    return _var_int(len(magic)) + magic + _var_int(len(body)) + body


def message_digest(magic: bytes, message: str) -> bytes:
    """The 32 bytes a Bitcoin-family message signature signs."""
    return sha256d(frame_message(magic, message))


class Flavour(enum.StrEnum):
    """The address kind a BIP 137 header announces."""

    P2PKH_UNCOMPRESSED = "P2PKH (uncompressed key)"
    P2PKH = "P2PKH"
    P2SH_P2WPKH = "P2SH-P2WPKH"
    P2WPKH = "P2WPKH"


_FLAVOURS = (Flavour.P2PKH_UNCOMPRESSED, Flavour.P2PKH, Flavour.P2SH_P2WPKH, Flavour.P2WPKH)


@dataclass(frozen=True, slots=True)
class CompactSignature:
    """A 65-byte message signature: header byte, then r and s (32 bytes each)."""

    recid: int
    compressed: bool
    flavour: Flavour
    rs: bytes

    def recover(self, digest: bytes) -> coincurve.PublicKey:
        """The public key that made this signature over ``digest``; InvalidInput if none."""
        try:
            return coincurve.PublicKey.from_signature_and_message(
                self.rs + bytes([self.recid]), digest, hasher=None
            )
        except (ValueError, TypeError) as exc:  # coincurve's errors for an unrecoverable sig
            raise InvalidInput(f"no public key recovers from the signature ({exc})") from exc

    def key_bytes(self, key: coincurve.PublicKey) -> bytes:
        """The key serialised as the header says (compressed or not)."""
        return key.format(compressed=self.compressed)


def parse_compact_signature(text: str) -> CompactSignature:
    """Parse a base64 BIP 137 signature; InvalidInput if it is not 65 bytes with header 27-42."""
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as exc:  # binascii.Error, or a character outside ASCII
        raise InvalidInput(f"signature is not base64 ({exc})", value=text) from exc
    if len(raw) != 65 or not 27 <= raw[0] <= 42:
        raise InvalidInput(
            f"signature is {len(raw)} bytes with header {raw[:1].hex() or 'none'}; a BIP 137 "
            "signature is 65 bytes with a header byte of 27-42",
            value=text,
        )
    offset = raw[0] - 27
    flavour = _FLAVOURS[offset // 4]
    return CompactSignature(
        offset % 4, flavour is not Flavour.P2PKH_UNCOMPRESSED, flavour, bytes(raw[1:])
    )
