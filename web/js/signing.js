// A self-custody member's write (docs/permissions.md): the API answers 202 with a prepared transaction and a human
// summary; the member signs it with its own key and the console submits the signed transaction (POST
// /v1/transactions), which the API answers exactly as the custodial write. Two ways to sign, in one dialog:
//  - in this browser, with the member's keystore file (Web3 Secret Storage JSON, as `scf keys new` writes it),
//    decrypted here by ethers; the file and its passphrase never leave the page, only the signed transaction does;
//  - elsewhere (a hardware wallet, an offline machine, `scf keys sign`): download the transaction, paste or upload
//    the signed one.
import { Wallet, Transaction } from "/app/vendor/ethers.esm.mjs";
import { t } from "./i18n.js";
import { h, nextId } from "./ui.js";

/** The fields ethers signs, from the API's prepared transaction (EIP-1559, or legacy with gasPrice). */
export function unsignedTransaction(prepared) {
  const tx = prepared.transaction;
  const fields = { to: tx.to, data: tx.data ?? "0x", value: BigInt(tx.value ?? 0), gasLimit: BigInt(tx.gas), chainId: BigInt(tx.chainId), nonce: Number(tx.nonce) };
  if (tx.gasPrice !== undefined) return { ...fields, type: 0, gasPrice: BigInt(tx.gasPrice) };
  return { ...fields, type: 2, maxFeePerGas: BigInt(tx.maxFeePerGas), maxPriorityFeePerGas: BigInt(tx.maxPriorityFeePerGas) };
}

function readText(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsText(file);
  });
}

function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  const link = h("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** What was pasted or uploaded: a raw transaction (0x…), or `scf keys sign`'s JSON body ({raw, prepared_id}). */
export function signedRaw(text) {
  const value = String(text ?? "").trim();
  if (value.startsWith("{")) {
    try {
      return signedRaw(JSON.parse(value).raw);
    } catch {
      return null;
    }
  }
  return /^0x[0-9a-fA-F]+$/.test(value) ? value : null;
}

/** Signs `prepared` in the browser with the keystore `file` and `passphrase`; throws a readable Error. */
async function signWithKeyFile(prepared, file, passphrase, progress) {
  let json;
  try {
    json = await readText(file);
    JSON.parse(json);
  } catch (error) {
    throw new Error(t("sign.bad_file", { error: error.message || String(error) }), { cause: error });
  }
  let wallet;
  try {
    wallet = await Wallet.fromEncryptedJson(json, passphrase, (done) => progress(Math.round(done * 100)));
  } catch (error) {
    const wrong = /password|invalid/i.test(String(error.message));
    throw new Error(wrong ? t("sign.bad_passphrase") : t("sign.bad_file", { error: error.shortMessage || error.message }), {
      cause: error,
    });
  }
  const signer = prepared.transaction.from;
  if (wallet.address.toLowerCase() !== String(signer).toLowerCase()) {
    throw new Error(t("sign.wrong_key", { file: wallet.address, signer }));
  }
  return wallet.signTransaction(unsignedTransaction(prepared));
}

/**
 * Shows the prepared transaction and lets the member sign it; resolves to the signed raw transaction, rejects
 * (nothing sent) when the member cancels. Only the signed transaction leaves this function.
 */
export function askForSignature(prepared) {
  return new Promise((resolve, reject) => {
    const tx = prepared.transaction;
    const titleId = nextId("sign-title");
    const dialog = h("dialog", { id: "sign-dialog", class: "sign-dialog", "aria-labelledby": titleId });
    const status = h("p", { id: "sign-status", class: "status", role: "status", "aria-live": "polite" });
    const say = (kind, text) => {
      status.className = `status ${kind}`;
      status.setAttribute("role", kind === "error" ? "alert" : "status");
      status.textContent = text;
    };
    let settled = false;
    const finish = (raw) => {
      settled = true;
      dialog.close();
      dialog.remove();
      resolve(raw);
    };
    const cancel = () => {
      if (settled) return;
      settled = true;
      dialog.close();
      dialog.remove();
      reject(new Error(t("sign.cancelled")));
    };

    // in the browser, with the keystore file
    const keyFile = h("input", { id: "sign-key-file", type: "file", accept: ".json,application/json" });
    const passphrase = h("input", { id: "sign-passphrase", type: "password", autocomplete: "off" });
    const signButton = h("button", { type: "submit", id: "sign-submit" }, t("sign.sign_send"));
    const keyHint = h("span", { class: "muted", id: nextId("hint") }, t("sign.key_file_hint"));
    keyFile.setAttribute("aria-describedby", keyHint.id);
    const inBrowser = h(
      "form",
      { class: "form", id: "sign-form" },
      h("label", { for: keyFile.id }, t("sign.key_file")),
      h("div", {}, keyFile, " ", keyHint),
      h("label", { for: passphrase.id }, t("sign.passphrase")),
      passphrase,
      signButton,
    );
    inBrowser.addEventListener("submit", async (event) => {
      event.preventDefault();
      const file = keyFile.files?.[0];
      if (!file) {
        say("error", t("sign.choose_file"));
        keyFile.focus();
        return;
      }
      signButton.disabled = true;
      say("pending", t("sign.decrypting", { percent: 0 }));
      try {
        const raw = await signWithKeyFile(prepared, file, passphrase.value, (percent) => say("pending", t("sign.decrypting", { percent })));
        passphrase.value = "";
        finish(raw);
      } catch (error) {
        say("error", error.message || String(error));
      } finally {
        signButton.disabled = false;
      }
    });

    // elsewhere: download the transaction, paste or upload the signed one
    const downloadButton = h("button", { type: "button", id: "sign-download", class: "secondary" }, t("sign.download"));
    downloadButton.addEventListener("click", () => download(`transaction-${prepared.prepared_id}.json`, `${JSON.stringify(prepared, null, 2)}\n`));
    const rawText = h("textarea", { id: "sign-raw", rows: 3, spellcheck: "false", class: "hash" });
    const rawFile = h("input", { id: "sign-raw-file", type: "file", accept: ".json,.txt,application/json,text/plain" });
    rawFile.addEventListener("change", async () => {
      if (rawFile.files?.[0]) rawText.value = (await readText(rawFile.files[0])).trim();
    });
    const sendRaw = h("button", { type: "submit", id: "sign-send-raw" }, t("sign.send_raw"));
    const elsewhere = h(
      "form",
      { class: "form", id: "sign-upload-form" },
      h("p", { class: "muted" }, t("sign.elsewhere_hint")),
      h("p", {}, h("code", { id: "sign-command" }, `scf keys sign --keystore key.json < transaction-${prepared.prepared_id}.json`)),
      h("div", { class: "actions" }, downloadButton),
      h("label", { for: rawText.id }, t("sign.raw")),
      rawText,
      h("label", { for: rawFile.id }, t("sign.raw_file")),
      rawFile,
      sendRaw,
    );
    elsewhere.addEventListener("submit", (event) => {
      event.preventDefault();
      const raw = signedRaw(rawText.value);
      if (!raw) {
        rawText.setAttribute("aria-invalid", "true");
        say("error", t("sign.bad_raw"));
        return;
      }
      try {
        Transaction.from(raw); // a signed transaction at all (the API checks that it is the prepared one)
      } catch {
        rawText.setAttribute("aria-invalid", "true");
        say("error", t("sign.bad_raw"));
        return;
      }
      finish(raw);
    });

    const fee = tx.gasPrice !== undefined ? String(tx.gasPrice) : `${tx.maxFeePerGas} / ${tx.maxPriorityFeePerGas}`;
    dialog.replaceChildren(
      h("h3", { id: titleId }, t("sign.title")),
      h("p", {}, t("sign.intro")),
      h("h4", {}, t("sign.summary")),
      h("p", {}, h("code", { id: "sign-summary" }, prepared.summary)),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, t("sign.from")), h("dd", { class: "hash" }, tx.from),
        h("dt", {}, t("sign.to")), h("dd", { class: "hash" }, tx.to ?? "—"),
        h("dt", {}, t("sign.nonce")), h("dd", {}, String(tx.nonce)),
        h("dt", {}, t("sign.chain")), h("dd", {}, String(tx.chainId)),
        h("dt", {}, t("sign.gas")), h("dd", {}, `${tx.gas} · ${fee}`),
      ),
      h("h4", {}, t("sign.in_browser")),
      inBrowser,
      h("h4", {}, t("sign.elsewhere")),
      elsewhere,
      status,
      h("div", { class: "actions" }, h("button", { type: "button", id: "sign-cancel", class: "secondary", onclick: cancel }, t("sign.cancel"))),
    );
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      cancel();
    });
    document.body.append(dialog);
    dialog.showModal();
    keyFile.focus();
  });
}
