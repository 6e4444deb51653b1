"""`scf keys` and `scf --keystore FILE`: a self-custody member's key in a keystore file on its own machine signs
its admission challenge and every transaction the API prepares; the API never sees it (real anvil, real HTTP)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from scripts.cli import app
from tests.conftest import TEST_MINT_CEILING, ServerThread, random_hash

runner = CliRunner()


def test_a_self_custody_bank_signs_with_its_keystore(api: ServerThread, operator_key: str, tmp_path: Path) -> None:
    env = {"SCF_API_URL": api.url, "SCF_DATA_DIR": str(tmp_path / "none"), "SCF_CONFIG": None, "HOME": str(tmp_path)}

    def scf(*args: str, key: str = operator_key, stdin: str | None = None) -> str:
        result = runner.invoke(app, list(args), env={**env, "SCF_API_KEY": key}, input=stdin)
        assert result.exit_code == 0, result.output
        return result.stdout

    secret = tmp_path / "pass.txt"
    secret.write_text("correct horse\n")
    keystore = tmp_path / "bank.json"
    address = scf("keys", "new", "--keystore", str(keystore), "--passphrase-file", str(secret)).strip()
    assert address.startswith("0x") and json.loads(keystore.read_text())["crypto"]
    assert scf("keys", "address", "--keystore", str(keystore), "--passphrase-file", str(secret)).strip() == address
    again = runner.invoke(app, ["keys", "new", "--keystore", str(keystore), "--passphrase-file", str(secret)], env=env)
    assert again.exit_code == 1 and "exists" in again.output

    challenge = scf("members", "challenge", "--address", address, "--json")
    signature = scf(
        "keys", "sign-challenge", "--keystore", str(keystore), "--passphrase-file", str(secret), stdin=challenge
    ).strip()
    admitted = json.loads(
        scf(
            "members",
            "admit",
            "--role",
            "financier",
            "--kyc-hash",
            random_hash(),
            "--address",
            address,
            "--challenge-id",
            json.loads(challenge)["challenge_id"],
            "--signature",
            signature,
            "--mint-ceiling",
            TEST_MINT_CEILING,
            "--json",
        )
    )
    assert admitted["member"]["custody"] == "self" and admitted["member"]["account"].lower() == address.lower()
    bank_key = admitted["api_key"]
    bank_id = admitted["member"]["id"]

    # without the keystore the write stops at the prepared transaction and says what to do
    mint = ["cash", "mint", "--member", str(bank_id), "--amount", "100.00", "--reference", random_hash(), "--json"]
    result = runner.invoke(app, mint, env={**env, "SCF_API_KEY": bank_key})
    assert result.exit_code == 1 and "--keystore" in result.output
    # with it, the CLI signs locally and the write completes as for a custodial member
    out = json.loads(scf("--keystore", str(keystore), "--passphrase-file", str(secret), *mint, key=bank_key))
    assert out["balance"]["balance"] == "100.00" and out["balance"]["member_id"] == bank_id
    # a wrong passphrase opens nothing
    bad = tmp_path / "bad.txt"
    bad.write_text("wrong\n")
    wrong = runner.invoke(
        app, ["--keystore", str(keystore), "--passphrase-file", str(bad), *mint], env={**env, "SCF_API_KEY": bank_key}
    )
    assert wrong.exit_code == 1 and "passphrase" in wrong.output
