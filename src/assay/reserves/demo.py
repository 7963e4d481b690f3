"""The demo group's proof of reserves: two monthly rounds, their reserves and signed reports.

``assay demo load`` runs :func:`load_demo`: for September and October 2026 it makes 2,000
accounts of BTC, ETH and USDT (USDT may be owed), wallets whose ownership signatures are made
here over each round's message with throw-away demo keys (an EVM key, ``personal_sign``; a
Bitcoin P2WPKH key, a BIP-137 message signature), balances at fixed block heights, and one
Starknet address that cannot be checked offline (shown, never counted). September is short of
USDT, October covered, so the history has something to say. Both rounds are published and
their reports issued; the demo viewer is linked to account ``kestrel-000042``. Idempotent: a
round that exists is left as it is. The keys are derived from fixed labels: demo only.
"""

from __future__ import annotations

import base64
import hashlib
import random
import tempfile
from decimal import Decimal
from pathlib import Path

import coincurve
from eth_account import Account
from eth_account.messages import encode_defunct

from assay.platform.context import Context
from assay.reserves import bitcoin, reporting, service
from assay.reserves.rounds import read_round_file
from assay.reserves.store import RoundRow

DEMO_ACCOUNTS = 2000
DEMO_ACCOUNT = "kestrel-000042"
DEMO_CUSTOMER = "viewer@kestrel.example"
#: Round id -> (snapshot, USDT reserves as a multiple of USDT owed).
DEMO_ROUNDS = {
    "2026-09": ("2026-09-30T23:59:59Z", "0.97"),
    "2026-10": ("2026-10-31T23:59:59Z", "1.04"),
}
#: Round id -> (Bitcoin, Ethereum) block heights at the snapshot.
HEIGHTS = {"2026-09": (865000, 20850000), "2026-10": (869500, 21070000)}
STARKNET_ADDRESS = "0x03b7f0b02b63683eca1639fb2d5dfa1021628d4ee728b03bc0ac2be66edc32f1"


def _key(label: str) -> bytes:
    return hashlib.sha256(f"assay demo key {label}".encode()).digest()


def _round_file(round_id: str, snapshot: str) -> str:
    return (
        "format: assay-por-round/1\n"
        f"id: {round_id}\n"
        f"snapshot_at: {snapshot}\n"
        "assets:\n"
        "  - {code: BTC, decimals: 8}\n"
        "  - {code: ETH, decimals: 9}\n"
        "  - {code: USDT, decimals: 6, debt_allowed: true}\n"
    )


def _units(value: int, decimals: int) -> str:
    sign = "-" if value < 0 else ""
    whole, fraction = divmod(abs(value), 10**decimals)
    return f"{sign}{whole}.{fraction:0{decimals}d}".rstrip("0").rstrip(".")


def _liabilities(path: Path, seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - made-up balances, not secrets
    lines = ["account_id,BTC,ETH,USDT"]
    for i in range(DEMO_ACCOUNTS):
        btc = int(rng.lognormvariate(13, 2)) if rng.random() < 0.6 else 0
        eth = int(rng.lognormvariate(20, 2)) if rng.random() < 0.5 else 0
        usdt = int(rng.lognormvariate(19, 2)) if rng.random() < 0.8 else 0
        if i % 17 == 5:  # a margin customer owes USDT
            usdt = -int(rng.lognormvariate(17, 1))
        lines.append(f"kestrel-{i:06d},{_units(btc, 8)},{_units(eth, 9)},{_units(usdt, 6)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _evm_claim(message: str) -> tuple[str, str]:
    account = Account.from_key(_key("evm"))
    signed = Account.sign_message(encode_defunct(text=message), account.key)
    return account.address, "0x" + bytes(signed.signature).hex()


def _btc_claim(message: str) -> tuple[str, str]:
    key = coincurve.PrivateKey(_key("btc"))
    public = key.public_key.format(compressed=True)
    address = bitcoin.segwit_encode("bc", 0, bitcoin.hash160(public))
    digest = bitcoin.message_digest(bitcoin.BITCOIN.magic, message)
    signature = key.sign_recoverable(digest, hasher=None)
    compact = bytes([39 + signature[64]]) + signature[:64]  # BIP 137: P2WPKH, recovery id
    return address, base64.b64encode(compact).decode()


def write_reserves(
    folder: Path, round_id: str, totals: dict[str, dict[str, str]], usdt: str
) -> tuple[Path, Path]:
    """The demo's address claims and balances files for a round, USDT at ``usdt`` x owed."""
    message = f"Assay PoR {round_id} kestrel"
    evm, evm_sig = _evm_claim(message)
    btc, btc_sig = _btc_claim(message)
    claims = folder / "addresses.csv"
    claims.write_text(
        "digitalAsset,network,address,signedMessage,signedMessage2,message,publicKey\n"
        f"ETH,ETH,{evm},{evm_sig},,{message},\n"
        f"BTC,BTC,{btc},{btc_sig},,{message},\n"
        f"ETH,STARKNET,{STARKNET_ADDRESS},0x01,,{message},\n",
        encoding="utf-8",
    )

    def owed(asset: str, factor: str) -> str:
        return _amount(Decimal(totals[asset]["equity"]) * Decimal(factor))

    btc_height, eth_height = HEIGHTS.get(round_id, (870000, 21100000))
    balances = folder / "balances.csv"
    balances.write_text(
        "chain,asset,address,block_height,balance\n"
        f"BTC,BTC,{btc},{btc_height},{owed('BTC', '1.12')}\n"
        f"ETH,ETH,{evm},{eth_height},{owed('ETH', '1.05')}\n"
        f"ETH,USDT,{evm},{eth_height},{owed('USDT', usdt)}\n"
        f"STARKNET,ETH,{STARKNET_ADDRESS},910000,{owed('ETH', '0.2')}\n",
        encoding="utf-8",
    )
    return claims, balances


def _amount(value: Decimal) -> str:
    """An amount as the balances file wants it: plain, at most 18 decimals, rounded down."""
    return format(value.quantize(Decimal("1e-18"), rounding="ROUND_DOWN").normalize(), "f")


def load_demo(ctx: Context) -> None:
    """Two published rounds with reserves and issued reports, and the demo customer's link."""
    for seed, (round_id, (snapshot, usdt)) in enumerate(sorted(DEMO_ROUNDS.items())):
        if ctx.session.get(RoundRow, round_id) is not None:
            continue
        with tempfile.TemporaryDirectory(prefix="assay-demo-") as tmp:
            folder = Path(tmp)
            liabilities = folder / "liabilities.csv"
            _liabilities(liabilities, seed)
            built = service.create_round(
                ctx, read_round_file(_round_file(round_id, snapshot)), liabilities
            )
            claims, balances = write_reserves(folder, round_id, built.totals, usdt)
            reporting.import_reserves(ctx, round_id, claims, balances)
        service.publish_round(ctx, round_id)
        reporting.issue_report(ctx, round_id)
    linked = {(link.email, link.account_id) for link in service.list_links(ctx)}
    if (DEMO_CUSTOMER, DEMO_ACCOUNT) not in linked:
        service.link_account(ctx, DEMO_CUSTOMER, DEMO_ACCOUNT)
