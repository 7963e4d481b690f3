"""Address ownership: every real row of OKX's test.csv, tampering, synthetic signatures."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from pathlib import Path

import coincurve
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.errors import InvalidInput
from assay.reserves import bitcoin, ownership
from assay.reserves.bitcoin import BITCOIN, LITECOIN, ChainParams
from assay.reserves.ownership import (
    AddressClaim,
    OwnershipResult,
    Status,
    iter_ownership,
    verify_addresses_file,
    verify_ownership,
)
from tests.samples import OKX

OKX_FILE = OKX / "test.csv"
OKX_MESSAGE = "OKC_DTT_AUP2025"
ROUND = "Assay PoR 2026-03-31 kestrel"


@pytest.fixture(scope="module")
def okx() -> dict[str, AddressClaim]:
    """The real rows, by network."""
    return {r.claim.network: r.claim for r in verify_addresses_file(OKX_FILE)}


def _flip(signature: str, at: int = 10) -> str:
    """The same signature with one byte of r changed, in the encoding it came in."""
    if signature.startswith("0x"):
        raw = bytearray(bytes.fromhex(signature[2:]))
        raw[at] ^= 0x01
        return "0x" + raw.hex()
    raw = bytearray(base64.b64decode(signature))
    raw[at] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


# --- the real file --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "network", "status", "scheme"),
    [
        # USDT on Ethereum: personal_sign over keccak256(message), OKX's EVM convention
        (2, "ETH", Status.VERIFIED, "EIP-191 personal_sign of keccak256(message)"),
        # Starknet: an account contract; its key is chain state
        (3, "STARKNET", Status.UNVERIFIED, None),
        # BTC 2-of-3 P2WSH with its witness script, two BIP 137 signatures
        (4, "BTC", Status.VERIFIED, "Bitcoin signed message (BIP 137), P2WSH"),
        # Polkadot: an ed25519 account (not sr25519) over OKX's framed message
        (5, "DOT", Status.VERIFIED, "OKX signed message (ed25519)"),
        # Cardano enterprise address: BLAKE2b-224 of the key, ed25519 signature
        (6, "ADA", Status.VERIFIED, "OKX signed message (ed25519)"),
        # DOGE 2-of-3 P2SH with its redeem script
        (7, "DOGE", Status.VERIFIED, "Dogecoin signed message (BIP 137), P2SH"),
        # ETC on OKC (an EVM chain) signed with OKX's own "OKX Signed Message" prefix
        (8, "OKC", Status.VERIFIED, "OKX signed message (keccak256)"),
        # TRON: TronWeb signMessageV2
        (9, "TRON", Status.VERIFIED, "TRON signMessageV2"),
        # EOS (Vaulta): account permissions are chain state
        (10, "Vaulta", Status.UNVERIFIED, None),
    ],
)
def test_every_real_okx_row_gets_its_verdict(
    line: int, network: str, status: Status, scheme: str | None
) -> None:
    results = {r.claim.line: r for r in verify_addresses_file(OKX_FILE)}
    assert len(results) == 9
    result = results[line]
    assert (result.claim.network, result.status, result.scheme) == (network, status, scheme)
    assert result.reason


def test_the_real_file_verifies_against_its_message_given_explicitly() -> None:
    statuses = [r.status for r in verify_addresses_file(OKX_FILE, OKX_MESSAGE)]
    assert statuses.count(Status.VERIFIED) == 7
    assert statuses.count(Status.UNVERIFIED) == 2


def test_every_real_row_fails_against_another_rounds_message() -> None:
    results = verify_addresses_file(OKX_FILE, ROUND)
    assert {r.status for r in results} == {Status.FAILED}
    assert "not the message" in results[0].reason


def test_unverified_reasons_name_why_the_chain_cannot_be_checked(okx) -> None:
    starknet = verify_ownership(okx["STARKNET"], OKX_MESSAGE)
    assert "account contract" in starknet.reason
    assert "permissions" in verify_ownership(okx["Vaulta"], OKX_MESSAGE).reason


def test_an_unknown_network_is_unverified_never_verified(okx) -> None:
    claim = dataclasses.replace(okx["ETH"], network="SOMECHAIN")
    result = verify_ownership(claim, OKX_MESSAGE)
    assert result.status is Status.UNVERIFIED
    assert "SOMECHAIN" in result.reason


# --- Bitcoin-family multisig, tampered ------------------------------------------------------------


@pytest.mark.parametrize("network", ["BTC", "DOGE"])
def test_a_multisig_row_fails_when_one_signature_is_corrupted(okx, network: str) -> None:
    claim = okx[network]
    tampered = (claim.signatures[0], _flip(claim.signatures[1]))
    result = verify_ownership(dataclasses.replace(claim, signatures=tampered), OKX_MESSAGE)
    assert result.status is Status.FAILED
    assert result.reason.startswith("signedMessage2:")


@pytest.mark.parametrize("network", ["BTC", "DOGE"])
def test_a_multisig_row_fails_with_the_same_signer_twice(okx, network: str) -> None:
    claim = okx[network]
    twice = (claim.signatures[0], claim.signatures[0])
    result = verify_ownership(dataclasses.replace(claim, signatures=twice), OKX_MESSAGE)
    assert result.status is Status.FAILED
    assert "1 distinct key(s) of the 2-of-3" in result.reason


@pytest.mark.parametrize("network", ["BTC", "DOGE"])
def test_a_multisig_row_fails_with_one_signature_of_two_needed(okx, network: str) -> None:
    claim = okx[network]
    result = verify_ownership(dataclasses.replace(claim, signatures=claim.signatures[:1]), "x")
    assert result.status is Status.FAILED  # the message differs too: still never verified
    one = dataclasses.replace(claim, signatures=claim.signatures[1:])
    assert verify_ownership(one, OKX_MESSAGE).status is Status.FAILED


def test_a_multisig_row_fails_with_another_addresss_script(okx) -> None:
    swapped = dataclasses.replace(okx["BTC"], public_key=okx["DOGE"].public_key)
    result = verify_ownership(swapped, OKX_MESSAGE)
    assert result.status is Status.FAILED
    assert "P2WSH program" in result.reason


def test_a_p2wsh_row_without_its_script_fails(okx) -> None:
    result = verify_ownership(dataclasses.replace(okx["BTC"], public_key=""), OKX_MESSAGE)
    assert result.status is Status.FAILED
    assert "witness script" in result.reason


def test_a_multisig_row_fails_for_a_different_message(okx) -> None:
    claim = dataclasses.replace(okx["BTC"], message=ROUND)
    result = verify_ownership(claim, ROUND)  # the signatures are over OKC_DTT_AUP2025
    assert result.status is Status.FAILED
    assert "not one of the script's" in result.reason


def test_a_multisig_signature_that_is_not_base64_fails_naming_its_column(okx) -> None:
    claim = dataclasses.replace(okx["BTC"], signatures=(okx["BTC"].signatures[0], "%%%"))
    result = verify_ownership(claim, OKX_MESSAGE)
    assert result.status is Status.FAILED
    assert result.reason.startswith("signedMessage2: signature is not base64")


# --- EVM, TRON and ed25519 rows, tampered ---------------------------------------------------------


def test_the_eth_row_verifies_with_its_eip55_checksummed_address(okx) -> None:
    claim = dataclasses.replace(okx["ETH"], address="0x6a32beA6B4050763a6673202eFDE42AD87beC0b5")
    assert verify_ownership(claim, OKX_MESSAGE).status is Status.VERIFIED


def test_a_mixed_case_address_with_a_bad_checksum_fails(okx) -> None:
    claim = dataclasses.replace(okx["ETH"], address="0x6A32beA6B4050763a6673202eFDE42AD87beC0b5")
    result = verify_ownership(claim, OKX_MESSAGE)
    assert result.status is Status.FAILED
    assert "EIP-55" in result.reason


@pytest.mark.parametrize("network", ["ETH", "OKC"])
def test_an_evm_signature_for_another_address_fails(okx, network: str) -> None:
    claim = dataclasses.replace(okx[network], address="0x" + "11" * 20)
    result = verify_ownership(claim, OKX_MESSAGE)
    assert result.status is Status.FAILED
    assert "recovers to 0x" in result.reason


@pytest.mark.parametrize("network", ["ETH", "OKC", "TRON", "ADA"])
def test_a_corrupted_single_signature_fails(okx, network: str) -> None:
    claim = okx[network]
    result = verify_ownership(
        dataclasses.replace(claim, signatures=(_flip(claim.signatures[0]),)), OKX_MESSAGE
    )
    assert result.status is Status.FAILED


def test_a_polkadot_signature_that_is_not_ed25519_is_unverified_as_it_may_be_sr25519(okx) -> None:
    claim = okx["DOT"]
    result = verify_ownership(
        dataclasses.replace(claim, signatures=(_flip(claim.signatures[0]),)), OKX_MESSAGE
    )
    assert result.status is Status.UNVERIFIED
    assert "sr25519" in result.reason


def test_a_cardano_signature_that_is_not_raw_ed25519_is_unverified(okx) -> None:
    cose = "0x" + "84" * 120  # the size of a CIP-8 COSE_Sign1 structure, not 64 bytes
    result = verify_ownership(dataclasses.replace(okx["ADA"], signatures=(cose,)), OKX_MESSAGE)
    assert result.status is Status.UNVERIFIED
    assert "CIP-8" in result.reason


@pytest.mark.parametrize(
    ("network", "field", "value"),
    [
        ("ETH", "signatures", ("0x1234",)),  # too short
        ("ETH", "signatures", ("0x" + "ab" * 64 + "05",)),  # v byte 5
        ("TRON", "address", "TSBg5SM1TXVXneSivmzpZa9hpccLNeYcWr"),  # checksum broken
        ("DOT", "public_key", "0x" + "00" * 32),  # not the address's account id
        ("ADA", "public_key", "0x" + "00" * 32),  # not the address's key hash
        (
            "ADA",
            "address",
            "addr1v9500j9f8sgnw9uftxmuc429kyy2mduuaj3649rw779v8ks4nyrxy",
        ),  # checksum
        ("DOGE", "address", "DB98NMrZQ48RAj7jRS7L7AcT6d8SCvu2Uq"),  # not an address
    ],
)
def test_a_malformed_field_fails_with_a_reason(
    okx, network: str, field: str, value: object
) -> None:
    result = verify_ownership(dataclasses.replace(okx[network], **{field: value}), OKX_MESSAGE)
    assert result.status is Status.FAILED
    assert result.reason


@settings(max_examples=60, deadline=None)
@given(
    network=st.sampled_from(["ETH", "BTC", "DOGE", "OKC", "TRON", "DOT", "ADA"]),
    junk=st.binary(min_size=0, max_size=80),
    as_text=st.booleans(),
)
def test_junk_in_place_of_a_signature_is_never_verified_and_never_raises(
    network: str, junk: bytes, as_text: bool
) -> None:
    claim = {r.claim.network: r.claim for r in verify_addresses_file(OKX_FILE)}[network]
    if as_text:
        signature = junk.decode("latin-1")
    elif network in ("BTC", "DOGE"):
        signature = base64.b64encode(junk).decode()
    else:
        signature = "0x" + junk.hex()
    tampered = dataclasses.replace(claim, signatures=(signature, *claim.signatures[1:]))
    assert verify_ownership(tampered, OKX_MESSAGE).status is not Status.VERIFIED


# --- synthetic single-key Bitcoin signatures ------------------------------------------------------

KEY = coincurve.PrivateKey((1).to_bytes(32, "big"))  # secret 1: the addresses are well known
OTHER = coincurve.PrivateKey((2).to_bytes(32, "big"))
COMPRESSED, UNCOMPRESSED = KEY.public_key.format(), KEY.public_key.format(compressed=False)
# BIP 137 header bases: recovery id is added to these.
P2PKH_UNCOMPRESSED, P2PKH, P2SH_P2WPKH, P2WPKH = 27, 31, 35, 39


def _sign(
    key: coincurve.PrivateKey, header: int, message: str, chain: ChainParams = BITCOIN
) -> str:
    """A BIP 137 compact signature made the way wallets make them."""
    rsv = key.sign_recoverable(bitcoin.message_digest(chain.magic, message), hasher=None)
    return base64.b64encode(bytes([header + rsv[64]]) + rsv[:64]).decode()


def _claim(address: str, *signatures: str, network: str = "BTC", script: str = "") -> AddressClaim:
    return AddressClaim("BTC", network, address, signatures, ROUND, public_key=script)


def test_the_address_encoders_give_the_well_known_addresses_of_secret_one() -> None:
    assert bitcoin.b58check_encode(b"\0" + bitcoin.hash160(COMPRESSED)) == (
        "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH"
    )
    assert bitcoin.b58check_encode(b"\0" + bitcoin.hash160(UNCOMPRESSED)) == (
        "1EHNa6Q4Jz2uvNExL497mE43ikXhwF6kZm"
    )
    # BIP 173's example P2WPKH address is this key's
    assert bitcoin.segwit_encode("bc", 0, bitcoin.hash160(COMPRESSED)) == (
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
    )
    assert bitcoin.b58check_encode(
        b"\x05" + bitcoin.hash160(bitcoin.p2wpkh_script(COMPRESSED))
    ) == ("3JvL6Ymt8MVWiCNHC7oWU6nLeHNJKLZGLN")
    # BIP 350: the Taproot address with G's x coordinate as its program
    assert bitcoin.segwit_encode("bc", 1, COMPRESSED[1:]) == (
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"
    )


@pytest.mark.parametrize(
    ("address", "header", "status"),
    [
        # P2PKH of the compressed key, compressed header
        ("1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH", P2PKH, Status.VERIFIED),
        # P2PKH of the uncompressed key, uncompressed header
        ("1EHNa6Q4Jz2uvNExL497mE43ikXhwF6kZm", P2PKH_UNCOMPRESSED, Status.VERIFIED),
        # the header names the other serialisation of the key: another address
        ("1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH", P2PKH_UNCOMPRESSED, Status.FAILED),
        # P2WPKH with BIP 137's segwit header (Trezor)
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", P2WPKH, Status.VERIFIED),
        # P2WPKH with the compressed P2PKH header (Electrum, Bitcoin Core)
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", P2PKH, Status.VERIFIED),
        # the same address written in upper case (BIP 173 allows it)
        ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", P2WPKH, Status.VERIFIED),
        # segwit needs a compressed key
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", P2PKH_UNCOMPRESSED, Status.FAILED),
        # P2SH-P2WPKH, with no script in the row
        ("3JvL6Ymt8MVWiCNHC7oWU6nLeHNJKLZGLN", P2SH_P2WPKH, Status.VERIFIED),
        # Taproot: BIP 322 territory
        (
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
            P2WPKH,
            Status.UNVERIFIED,
        ),
    ],
)
def test_single_key_bitcoin_addresses(address: str, header: int, status: Status) -> None:
    assert verify_ownership(_claim(address, _sign(KEY, header, ROUND)), ROUND).status is status


def test_a_p2sh_p2wpkh_row_may_give_its_key_in_place_of_a_script() -> None:
    claim = _claim(
        "3JvL6Ymt8MVWiCNHC7oWU6nLeHNJKLZGLN",
        _sign(KEY, P2SH_P2WPKH, ROUND),
        script=COMPRESSED.hex(),
    )
    assert verify_ownership(claim, ROUND).status is Status.VERIFIED
    other = dataclasses.replace(claim, signatures=(_sign(OTHER, P2SH_P2WPKH, ROUND),))
    assert verify_ownership(other, ROUND).status is Status.FAILED


@pytest.mark.parametrize(
    "address",
    [
        "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH",
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
        "3JvL6Ymt8MVWiCNHC7oWU6nLeHNJKLZGLN",
    ],
)
def test_a_signature_by_another_key_fails_for_every_single_key_kind(address: str) -> None:
    result = verify_ownership(_claim(address, _sign(OTHER, P2WPKH, ROUND)), ROUND)
    assert result.status is Status.FAILED
    assert "another key" in result.reason


def test_a_signature_over_another_message_fails() -> None:
    claim = _claim("1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH", _sign(KEY, P2PKH, "an older round"))
    assert verify_ownership(claim, ROUND).status is Status.FAILED


def test_every_signature_of_a_single_key_row_must_be_its_keys() -> None:
    good, bad = _sign(KEY, P2PKH, ROUND), _sign(OTHER, P2PKH, ROUND)
    claim = _claim("1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH", good, bad)
    result = verify_ownership(claim, ROUND)
    assert result.status is Status.FAILED
    assert result.reason.startswith("signedMessage2:")


def test_litecoin_uses_its_own_message_prefix() -> None:
    address = bitcoin.segwit_encode("ltc", 0, bitcoin.hash160(COMPRESSED))
    signed = _claim(address, _sign(KEY, P2WPKH, ROUND, LITECOIN), network="LTC")
    assert verify_ownership(signed, ROUND).status is Status.VERIFIED
    bitcoin_signed = _claim(address, _sign(KEY, P2WPKH, ROUND), network="LTC")
    assert verify_ownership(bitcoin_signed, ROUND).status is Status.FAILED


def test_a_bitcoin_address_on_the_wrong_network_fails() -> None:
    claim = _claim("1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH", _sign(KEY, P2PKH, ROUND), network="DOGE")
    result = verify_ownership(claim, ROUND)
    assert result.status is Status.FAILED
    assert "Dogecoin" in result.reason


# --- synthetic multisig ---------------------------------------------------------------------------

SIGNERS = [coincurve.PrivateKey((n).to_bytes(32, "big")) for n in (11, 12, 13)]
SCRIPT = bytes([0x52, *b"".join(b"\x21" + k.public_key.format() for k in SIGNERS), 0x53, 0xAE])
P2SH = bitcoin.b58check_encode(b"\x05" + bitcoin.hash160(SCRIPT))
P2SH_P2WSH = bitcoin.b58check_encode(b"\x05" + bitcoin.hash160(bitcoin.p2wsh_script(SCRIPT)))
P2WSH = bitcoin.segwit_encode("bc", 0, hashlib.sha256(SCRIPT).digest())


def test_the_multisig_parser_reads_m_and_the_keys() -> None:
    policy = bitcoin.parse_multisig(SCRIPT)
    assert policy is not None
    assert (policy.m, len(policy.keys)) == (2, 3)
    assert bitcoin.parse_multisig(SCRIPT[:-1] + b"\xac") is None  # OP_CHECKSIG: not multisig


@pytest.mark.parametrize(
    ("address", "kind"), [(P2SH, "P2SH"), (P2SH_P2WSH, "P2SH-P2WSH"), (P2WSH, "P2WSH")]
)
def test_two_of_three_multisig_addresses_verify_with_two_signers(address: str, kind: str) -> None:
    signatures = (_sign(SIGNERS[2], P2PKH, ROUND), _sign(SIGNERS[0], P2PKH, ROUND))
    result = verify_ownership(_claim(address, *signatures, script=SCRIPT.hex()), ROUND)
    assert (result.status, result.scheme) == (
        Status.VERIFIED,
        f"Bitcoin signed message (BIP 137), {kind}",
    )


def test_a_multisig_signature_by_an_outsider_fails() -> None:
    signatures = (_sign(SIGNERS[0], P2PKH, ROUND), _sign(OTHER, P2PKH, ROUND))
    result = verify_ownership(_claim(P2SH, *signatures, script=SCRIPT.hex()), ROUND)
    assert result.status is Status.FAILED
    assert "not one of the script's" in result.reason


def test_a_script_that_hashes_to_the_address_but_is_not_multisig_is_unverified() -> None:
    script = b"\x21" + COMPRESSED + b"\xac"  # <key> OP_CHECKSIG
    address = bitcoin.segwit_encode("bc", 0, hashlib.sha256(script).digest())
    claim = _claim(address, _sign(KEY, P2PKH, ROUND), script=script.hex())
    assert verify_ownership(claim, ROUND).status is Status.UNVERIFIED


# --- synthetic ed25519 ----------------------------------------------------------------------------


def test_a_solana_address_verifies_with_an_ed25519_signature_over_the_message() -> None:
    secret = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    key = secret.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    address = bitcoin.b58encode(key)
    signed = AddressClaim("SOL", "SOL", address, ("0x" + secret.sign(ROUND.encode()).hex(),), ROUND)
    result = verify_ownership(signed, ROUND)
    assert (result.status, result.scheme) == (Status.VERIFIED, "ed25519 over the message")
    other = dataclasses.replace(signed, address=bitcoin.b58encode(bytes(32)))
    assert verify_ownership(other, ROUND).status is Status.FAILED


# --- the address file -----------------------------------------------------------------------------


def _okx_lines() -> list[str]:
    return OKX_FILE.read_text(encoding="utf-8").splitlines()


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "addresses.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_row_with_too_few_fields_fails_naming_its_line_and_the_rest_still_verify(
    tmp_path: Path,
) -> None:
    header, eth, *_ = _okx_lines()
    path = _write(tmp_path, [header, "USDT,ETH,0xabc", eth])
    results = verify_addresses_file(path)
    assert [r.status for r in results] == [Status.FAILED, Status.VERIFIED]
    assert results[0].reason == "line 2: 3 fields, the header has 9"


def test_an_empty_required_field_fails_naming_its_line_and_column(tmp_path: Path) -> None:
    header, eth, *_ = _okx_lines()
    path = _write(
        tmp_path, [header, eth, eth.replace("0x6a32bea6b4050763a6673202efde42ad87bec0b5", "null")]
    )
    results = verify_addresses_file(path)
    assert results[1].reason == "line 3, column address: empty"
    assert results[1].claim.line == 3


def test_the_round_message_is_the_first_well_formed_rows(tmp_path: Path) -> None:
    header, eth, *_ = _okx_lines()
    path = _write(tmp_path, [header, "x,ETH,,,,,,,", eth])
    assert [r.status for r in iter_ownership(path)] == [Status.FAILED, Status.VERIFIED]


def test_a_file_without_a_required_column_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, ["digitalAsset,network,address,signedMessage,message,publicKey"])
    with pytest.raises(InvalidInput, match=r"line 1: missing columns \['signedMessage2'\]"):
        verify_addresses_file(path)


def test_a_file_with_an_unknown_column_is_refused(tmp_path: Path) -> None:
    header = _okx_lines()[0]
    with pytest.raises(InvalidInput, match="unknown or repeated columns"):
        verify_addresses_file(_write(tmp_path, [header + ",note"]))


def test_a_missing_file_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot be read"):
        verify_addresses_file(tmp_path / "nope.csv")


def test_results_keep_the_claim_they_judge() -> None:
    first: OwnershipResult = verify_addresses_file(OKX_FILE)[0]
    assert first.claim.address == "0x6a32bea6b4050763a6673202efde42ad87bec0b5"
    assert first.claim.signatures[0].startswith("0x63e1")
    assert first.claim.digital_asset == "USDT"


@pytest.mark.parametrize("module", [ownership, bitcoin])
def test_modules_export_every_public_name_they_define(module) -> None:
    defined = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == module.__name__
    }
    assert defined <= set(module.__all__)
    assert all(hasattr(module, name) for name in module.__all__)
