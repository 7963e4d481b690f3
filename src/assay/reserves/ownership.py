"""Proof that an exchange controls its reserve addresses: signatures over a round's message.

Each claim (a row of the address file, ``docs/formats/reserves-addresses.md``) says "this address
on this network is ours" and carries one or more signatures over the round's message. The verdict
is one of three, and only a check that actually ran can say ``verified``:

- ``verified``: the signatures were made by key(s) that control the address (EVM and TRON: the
  recovered key hashes to the address; Bitcoin family: the recovered key(s) are the address's own
  key, or m distinct keys of the m-of-n script that hashes to it; ed25519 chains: the signature
  checks under the key the address encodes).
- ``failed``: the row is malformed, signs another message, or a signature does not match.
- ``unverified``: no offline check exists here for this chain or address kind (Starknet and EOS
  accounts, whose keys are chain state; Taproot; unknown networks). Never counted as owned.

Pure: no network, no clock, no database. This module must never turn an unchecked claim into
``verified``; a value a check cannot use is a ``failed`` row, not a crash and not a pass.
"""

from __future__ import annotations

import csv
import enum
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import coincurve
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_keys.exceptions import BadSignature
from eth_utils.address import is_checksum_address
from eth_utils.crypto import keccak

from assay.errors import InvalidInput
from assay.reserves import bitcoin
from assay.reserves.bitcoin import AddressKind, ChainParams

__all__ = [
    "COLUMNS",
    "AddressClaim",
    "OwnershipResult",
    "Status",
    "iter_ownership",
    "verify_addresses_file",
    "verify_ownership",
]

#: Columns of the address file, in OKX's order; ``owner1`` and ``owner2`` are optional.
COLUMNS = (
    "digitalAsset",
    "network",
    "address",
    "signedMessage",
    "signedMessage2",
    "message",
    "publicKey",
    "owner1",
    "owner2",
)
_REQUIRED_COLUMNS = COLUMNS[:7]
_OKX_MAGIC = b"OKX Signed Message:\n"


class Status(enum.StrEnum):
    """The verdict on one address claim."""

    VERIFIED = "verified"
    FAILED = "failed"
    UNVERIFIED = "unverified"


@dataclass(frozen=True, slots=True)
class AddressClaim:
    """One address the exchange says it controls, with its signatures over the round message.

    ``public_key`` is the signer's public key (ed25519 chains) or, for a Bitcoin-family script
    address, the redeem or witness script in hex. ``line`` is the file line, when from a file.
    """

    digital_asset: str
    network: str
    address: str
    signatures: tuple[str, ...]
    message: str
    public_key: str = ""
    owners: tuple[str, ...] = ()
    line: int | None = None


@dataclass(frozen=True, slots=True)
class OwnershipResult:
    """The verdict on a claim, why, and which signing convention matched (when verified)."""

    claim: AddressClaim
    status: Status
    reason: str
    scheme: str | None = None


def verify_ownership(claim: AddressClaim, message: str) -> OwnershipResult:
    """Check that ``claim``'s signatures over ``message`` come from keys controlling its address."""
    if claim.message != message:
        return _failed(claim, f"the row signs {claim.message!r}, not the message {message!r}")
    network = claim.network.strip().upper()
    check = _CHECKS.get(network)
    if check is None:
        reason = _UNCHECKED.get(network, f"no ownership check exists for network {network!r}")
        return OwnershipResult(claim, Status.UNVERIFIED, reason)
    if not claim.signatures:
        return _failed(claim, "no signature")
    try:
        return check(claim, message)
    except InvalidInput as exc:
        return _failed(claim, exc.message)


def iter_ownership(path: Path | str, message: str | None = None) -> Iterator[OwnershipResult]:
    """Verify an address file row by row (streaming), one result per data row, in file order.

    ``message`` is the round's message; when None, the first well-formed row's message is taken
    as the round's and every row must sign it. A file that cannot be read, or lacks a required
    column, raises InvalidInput; a malformed row is a ``failed`` result naming its line and
    column.
    """
    for claim, problem in _read_claims(Path(path)):
        if problem:
            yield _failed(claim, problem)
            continue
        if message is None:
            message = claim.message
        yield verify_ownership(claim, message)


def verify_addresses_file(path: Path | str, message: str | None = None) -> list[OwnershipResult]:
    """Every row of an address file, verified (see :func:`iter_ownership`)."""
    return list(iter_ownership(path, message))


# --- results ----------------------------------------------------------------------------------


def _failed(claim: AddressClaim, reason: str) -> OwnershipResult:
    return OwnershipResult(claim, Status.FAILED, reason)


def _verified(claim: AddressClaim, reason: str, scheme: str) -> OwnershipResult:
    return OwnershipResult(claim, Status.VERIFIED, reason, scheme)


def _hex(value: str, what: str, size: int | None = None) -> bytes:
    text = value.strip().removeprefix("0x").removeprefix("0X")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise InvalidInput(f"{what} is not hex: {value!r}", field=what, value=value) from None
    if size is not None and len(raw) != size:
        raise InvalidInput(f"{what} is {len(raw)} bytes, expected {size}", field=what, value=value)
    return raw


def _single_signature(claim: AddressClaim) -> str:
    if len(claim.signatures) != 1:
        raise InvalidInput(
            f"{claim.network} takes one signature, the row has {len(claim.signatures)}"
        )
    return claim.signatures[0]


# --- secp256k1 with Ethereum-style addresses (EVM networks, TRON) -------------------------------

_EVM_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def _recoverable(signature: str) -> bytes:
    """A 65-byte r || s || v signature with v normalised to the recovery id 0 or 1."""
    raw = _hex(signature, "signedMessage", 65)
    v = raw[64] - 27 if raw[64] >= 27 else raw[64]
    if v not in (0, 1):
        raise InvalidInput(f"signature v byte {raw[64]} is not 0, 1, 27 or 28", field="v")
    return raw[:64] + bytes([v])


def _key_address(digest: bytes, signature: bytes) -> bytes:
    """The 20-byte Ethereum-style address of the key that signed ``digest``."""
    try:
        key = coincurve.PublicKey.from_signature_and_message(signature, digest, hasher=None)
    except ValueError as exc:
        raise InvalidInput(f"no public key recovers from the signature ({exc})") from exc
    return keccak(key.format(compressed=False)[1:])[-20:]


def _eip191(message: str, signature: bytes, *, hashed: bool) -> bytes:
    body = (
        encode_defunct(primitive=keccak(text=message)) if hashed else encode_defunct(text=message)
    )
    try:
        return bytes.fromhex(Account.recover_message(body, signature=signature)[2:])
    except (ValueError, BadSignature) as exc:
        raise InvalidInput(f"no public key recovers from the signature ({exc})") from exc


# Each EVM convention binds the message; which one matched is reported, never guessed at.
_EVM_SCHEMES: tuple[tuple[str, Callable[[str, bytes], bytes]], ...] = (
    ("EIP-191 personal_sign", lambda m, s: _eip191(m, s, hashed=False)),
    ("EIP-191 personal_sign of keccak256(message)", lambda m, s: _eip191(m, s, hashed=True)),
    (
        "OKX signed message (keccak256)",
        lambda m, s: _key_address(keccak(bitcoin.frame_message(_OKX_MAGIC, m)), s),
    ),
)


def _check_evm(claim: AddressClaim, message: str) -> OwnershipResult:
    address = claim.address.strip()
    if not _EVM_ADDRESS.fullmatch(address):
        return _failed(claim, f"{address!r} is not a 0x-prefixed 20-byte hex address")
    if address[2:] not in (address[2:].lower(), address[2:].upper()) and not is_checksum_address(
        address
    ):
        return _failed(claim, f"{address} is mixed case but fails its EIP-55 checksum")
    signature = _recoverable(_single_signature(claim))
    wanted = bytes.fromhex(address[2:])
    recovered = []
    for scheme, recover in _EVM_SCHEMES:
        try:
            found = recover(message, signature)
        except InvalidInput:
            continue
        if found == wanted:
            return _verified(claim, f"signature by the address's key ({scheme})", scheme)
        recovered.append(f"0x{found.hex()} ({scheme})")
    return _failed(claim, f"the signature recovers to {', '.join(recovered) or 'no key'}")


def _check_tron(claim: AddressClaim, message: str) -> OwnershipResult:
    raw = bitcoin.b58check_decode(claim.address.strip())
    if len(raw) != 21 or raw[0] != 0x41:
        return _failed(claim, f"{claim.address!r} is not a TRON mainnet address (version 0x41)")
    signature = _recoverable(_single_signature(claim))
    body = message.encode()
    schemes = (  # TronWeb's signMessageV2, then the older signMessage over keccak256(message)
        ("TRON signMessageV2", b"\x19TRON Signed Message:\n%d" % len(body) + body),
        ("TRON signMessage of keccak256(message)", b"\x19TRON Signed Message:\n32" + keccak(body)),
    )
    recovered = []
    for scheme, preimage in schemes:
        found = _key_address(keccak(preimage), signature)
        if found == raw[1:]:
            return _verified(claim, f"signature by the address's key ({scheme})", scheme)
        recovered.append(bitcoin.b58check_encode(b"\x41" + found))
    return _failed(claim, f"the signature recovers to {', '.join(recovered)}")


# --- Bitcoin family -----------------------------------------------------------------------------


def _utxo_check(chain: ChainParams) -> Callable[[AddressClaim, str], OwnershipResult]:
    def check(claim: AddressClaim, message: str) -> OwnershipResult:
        return _check_utxo(claim, message, chain)

    return check


def _check_utxo(claim: AddressClaim, message: str, chain: ChainParams) -> OwnershipResult:
    dest = bitcoin.decode_address(claim.address.strip(), chain)
    digest = bitcoin.message_digest(chain.magic, message)
    scheme = f"{chain.name} signed message (BIP 137)"
    if dest.kind in (AddressKind.P2TR, AddressKind.WITNESS_OTHER):
        return OwnershipResult(
            claim, Status.UNVERIFIED, f"{dest.kind} addresses need BIP 322 signatures, not checked"
        )
    if dest.kind is AddressKind.P2WSH:
        return _check_p2wsh(claim, dest, digest, scheme)
    if dest.kind is AddressKind.P2SH and claim.public_key:
        return _check_p2sh_script(claim, dest, digest, scheme)
    return _check_single_key(claim, dest, digest, scheme)


def _check_p2wsh(
    claim: AddressClaim, dest: bitcoin.Destination, digest: bytes, scheme: str
) -> OwnershipResult:
    """P2WSH: the witness script in publicKey must hash (SHA-256) to the witness program."""
    script = _hex(claim.public_key, "publicKey")
    if not script:
        return _failed(claim, "a P2WSH address needs its witness script in publicKey")
    if hashlib.sha256(script).digest() != dest.payload:
        return _failed(claim, "the publicKey script's SHA-256 is not the P2WSH program")
    return _check_multisig(claim, script, digest, scheme, "P2WSH")


def _check_p2sh_script(
    claim: AddressClaim, dest: bitcoin.Destination, digest: bytes, scheme: str
) -> OwnershipResult:
    """P2SH and P2SH-P2WSH: the script in publicKey must hash (HASH160) to the address."""
    script = _hex(claim.public_key, "publicKey")
    if bitcoin.hash160(script) == dest.payload:
        return _check_multisig(claim, script, digest, scheme, "P2SH")
    if bitcoin.hash160(bitcoin.p2wsh_script(script)) == dest.payload:
        return _check_multisig(claim, script, digest, scheme, "P2SH-P2WSH")
    if len(script) == 33:  # a compressed key given for information: a P2SH-P2WPKH address
        return _check_single_key(claim, dest, digest, scheme)
    return _failed(claim, "the publicKey script hashes to neither the P2SH nor P2SH-P2WSH hash")


def _check_single_key(
    claim: AddressClaim, dest: bitcoin.Destination, digest: bytes, scheme: str
) -> OwnershipResult:
    """P2PKH, P2WPKH, and P2SH given no script (P2SH-P2WPKH): every signature is the key's."""
    kind = "P2SH-P2WPKH" if dest.kind is AddressKind.P2SH else str(dest.kind)
    for i, signature in enumerate(claim.signatures):
        sig, key = _bip137(signature, i, digest)
        if dest.kind is AddressKind.P2PKH:
            found = bitcoin.hash160(sig.key_bytes(key))
        elif not sig.compressed:
            return _failed(
                claim, f"{_column(i)}: {kind} needs a compressed key; its header says not"
            )
        elif dest.kind is AddressKind.P2WPKH:
            found = bitcoin.hash160(key.format(compressed=True))
        else:
            found = bitcoin.hash160(bitcoin.p2wpkh_script(key.format(compressed=True)))
        if found != dest.payload:
            return _failed(claim, f"{_column(i)}: signed by another key than the {kind} address's")
    return _verified(claim, f"signature by the {kind} address's key", scheme)


def _column(index: int) -> str:
    return ("signedMessage", "signedMessage2")[index] if index < 2 else f"signature {index + 1}"


def _bip137(
    signature: str, index: int, digest: bytes
) -> tuple[bitcoin.CompactSignature, coincurve.PublicKey]:
    try:
        sig = bitcoin.parse_compact_signature(signature)
        return sig, sig.recover(digest)
    except InvalidInput as exc:
        raise InvalidInput(f"{_column(index)}: {exc.message}", field=_column(index)) from exc


def _check_multisig(
    claim: AddressClaim, script: bytes, digest: bytes, scheme: str, kind: str
) -> OwnershipResult:
    policy = bitcoin.parse_multisig(script)
    if policy is None:
        return OwnershipResult(
            claim,
            Status.UNVERIFIED,
            f"the {kind} script hashes to the address but is not a bare m-of-n CHECKMULTISIG",
        )
    members: dict[bytes, int] = {}
    for i, key_bytes in enumerate(policy.keys):
        try:
            members[coincurve.PublicKey(key_bytes).format(compressed=True)] = i
        except ValueError:
            return _failed(claim, f"key {i + 1} of the script is not a secp256k1 public key")
    signers: set[int] = set()
    for i, signature in enumerate(claim.signatures):
        key = _bip137(signature, i, digest)[1].format(compressed=True)
        if key not in members:
            return _failed(claim, f"{_column(i)}: its key {key.hex()} is not one of the script's")
        signers.add(members[key])
    policy_name = f"{policy.m}-of-{len(policy.keys)} {kind} script"
    if len(signers) < policy.m:
        return _failed(
            claim, f"{len(signers)} distinct key(s) of the {policy_name} signed, {policy.m} needed"
        )
    return _verified(
        claim, f"{len(signers)} distinct keys of the {policy_name} signed", f"{scheme}, {kind}"
    )


# --- ed25519 chains (Polkadot, Cardano, Solana) ---------------------------------------------------


def _ed25519(
    claim: AddressClaim, message: str, key: bytes, *, substrate: bool = False
) -> OwnershipResult:
    """An ed25519 signature under ``key`` over the message in one of the accepted framings.

    On Polkadot a signature that does not check is ``unverified``, not ``failed``: its accounts
    are sr25519 by default, whose signatures are also 64 bytes and are not checked here.
    """
    signature = _hex(_single_signature(claim), "signedMessage")
    if len(signature) < 64:
        raise InvalidInput(f"signedMessage is {len(signature)} bytes; ed25519 signatures are 64")
    if len(signature) > 64:
        return OwnershipResult(
            claim,
            Status.UNVERIFIED,
            f"a {len(signature)}-byte signature is not a raw ed25519 signature (64 bytes); "
            "wrapped formats such as Cardano's CIP-8 (COSE) are not checked",
        )
    try:
        public = Ed25519PublicKey.from_public_bytes(key)
    except ValueError as exc:
        raise InvalidInput(f"publicKey is not an ed25519 key ({exc})", field="publicKey") from exc
    body = message.encode()
    candidates = [
        ("ed25519 over the message", body),
        ("OKX signed message (ed25519)", bitcoin.frame_message(_OKX_MAGIC, message)),
    ]
    if substrate:  # polkadot.js signRaw wraps the bytes
        candidates.append(("ed25519 over <Bytes>message</Bytes>", b"<Bytes>" + body + b"</Bytes>"))
    for scheme, data in candidates:
        try:
            public.verify(signature, data)
        except InvalidSignature:
            continue
        return _verified(claim, f"signature by the address's ed25519 key ({scheme})", scheme)
    if substrate:
        return OwnershipResult(
            claim,
            Status.UNVERIFIED,
            "not an ed25519 signature by the account's key; sr25519 signatures (Polkadot's "
            "default) are not checked here",
        )
    return _failed(claim, "the signature does not check under the address's ed25519 key")


def _given_key(claim: AddressClaim) -> bytes:
    return _hex(claim.public_key, "publicKey", 32)


def _check_polkadot(claim: AddressClaim, message: str) -> OwnershipResult:
    raw = bitcoin.b58decode(claim.address.strip())  # SS58: prefix, account id, 2-byte checksum
    checksum = hashlib.blake2b(b"SS58PRE" + raw[:-2], digest_size=64).digest()[:2]
    if len(raw) != 35 or raw[0] != 0 or checksum != raw[-2:]:
        return _failed(claim, f"{claim.address!r} is not a Polkadot (SS58 prefix 0) address")
    key = _given_key(claim)
    if key != raw[1:33]:
        return _failed(claim, "publicKey is not the address's account id")
    return _ed25519(claim, message, key, substrate=True)


def _check_cardano(claim: AddressClaim, message: str) -> OwnershipResult:
    hrp, data, _ = bitcoin.bech32_decode(claim.address.strip(), max_length=1023)
    raw = bitcoin.convert_bits(data, 5, 8, pad=False)
    if hrp != "addr" or len(raw) < 29 or raw[0] & 0x0F != 1:
        return _failed(claim, f"{claim.address!r} is not a Cardano mainnet Shelley address")
    if raw[0] >> 4 not in (0, 2, 4, 6):  # base, pointer, enterprise with a key-hash payment part
        return OwnershipResult(
            claim, Status.UNVERIFIED, "a script-controlled Cardano address; not checked"
        )
    key = _given_key(claim)
    if hashlib.blake2b(key, digest_size=28).digest() != raw[1:29]:
        return _failed(claim, "publicKey's BLAKE2b-224 is not the address's payment key hash")
    return _ed25519(claim, message, key)


def _check_solana(claim: AddressClaim, message: str) -> OwnershipResult:
    key = bitcoin.b58decode(claim.address.strip())
    if len(key) != 32:
        return _failed(claim, f"{claim.address!r} is not a Solana address (32-byte key)")
    if claim.public_key and _given_key(claim) != key:
        return _failed(claim, "publicKey is not the address's key")
    return _ed25519(claim, message, key)


# --- networks ---------------------------------------------------------------------------------

# EVM networks by the names exchanges use in the network column (OKX's among them).
_EVM_NETWORKS = frozenset(
    {
        *("ETH", "ETC", "ETHW", "BSC", "POLYGON", "MATIC", "ARBITRUM", "OPTIMISM", "AVAXC"),
        *("AVAX-C", "BASE", "LINEA", "ETH-LINEA", "ETH_LINEA", "OKC", "XLAYER", "ZKSYNC"),
        *("ZKSYNC2", "SCROLL", "MANTLE", "BLAST", "UNICHAIN", "CORE", "BERA", "STORY", "CFX_EVM"),
        *("FANTOM", "FTM", "CRONOS", "GNOSIS", "CELO"),
    }
)

_CHECKS: dict[str, Callable[[AddressClaim, str], OwnershipResult]] = {
    **dict.fromkeys(_EVM_NETWORKS, _check_evm),
    "BTC": _utxo_check(bitcoin.BITCOIN),
    "DOGE": _utxo_check(bitcoin.DOGECOIN),
    "LTC": _utxo_check(bitcoin.LITECOIN),
    "TRON": _check_tron,
    "TRX": _check_tron,
    "DOT": _check_polkadot,
    "ADA": _check_cardano,
    "SOL": _check_solana,
}

_UNCHECKED = {
    "STARKNET": "Starknet addresses are account contracts whose signing key is contract state; "
    "the Stark-curve signature cannot be tied to the address offline",
    "EOS": "EOS accounts are controlled by keys named in on-chain permissions; the account's key "
    "cannot be checked offline",
    "VAULTA": "Vaulta (EOS) accounts are controlled by keys named in on-chain permissions; the "
    "account's key cannot be checked offline",
}


# --- the address file -----------------------------------------------------------------------------


def _read_claims(path: Path) -> Iterator[tuple[AddressClaim, str | None]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            missing = [name for name in _REQUIRED_COLUMNS if name not in header]
            unknown = [name for name in header if name not in COLUMNS]
            unknown += sorted({name for name in header if header.count(name) > 1})
            if missing or unknown:
                raise InvalidInput(
                    f"{path}: line 1: missing columns {missing}, unknown or repeated columns "
                    f"{unknown}; the columns are {', '.join(COLUMNS)} (owner1, owner2 optional)",
                    field="header",
                    value=header,
                )
            for row in reader:
                if row:
                    yield _claim(row, header, reader.line_num)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InvalidInput(f"{path}: cannot be read: {exc}", field="file", value=str(path)) from exc


def _claim(row: list[str], header: list[str], line: int) -> tuple[AddressClaim, str | None]:
    values = {
        name: ("" if v.strip() == "null" else v.strip())
        for name, v in zip(header, row, strict=False)
    }
    claim = AddressClaim(
        digital_asset=values.get("digitalAsset", ""),
        network=values.get("network", ""),
        address=values.get("address", ""),
        signatures=tuple(
            s for s in (values.get("signedMessage"), values.get("signedMessage2")) if s
        ),
        message=values.get("message", ""),
        public_key=values.get("publicKey", ""),
        owners=tuple(o for o in (values.get("owner1"), values.get("owner2")) if o),
        line=line,
    )
    if len(row) != len(header):
        return claim, f"line {line}: {len(row)} fields, the header has {len(header)}"
    for column in ("network", "address", "signedMessage", "message"):
        if not values[column]:
            return claim, f"line {line}, column {column}: empty"
    return claim, None
