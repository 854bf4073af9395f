// Checks a ballot's inclusion proof against the ledger's root hash in the browser
// (RFC 9162 section 2.1.3.2 with SHA-256 from SubtleCrypto). The proof comes from the
// page's data-proof attribute; nothing is sent anywhere.
(function () {
  "use strict";
  function hex(bytes) {
    return Array.from(new Uint8Array(bytes), function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }
  function unhex(text) {
    var out = new Uint8Array(text.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
    return out;
  }
  function join(prefix, a, b) {
    var out = new Uint8Array(1 + a.length + (b ? b.length : 0));
    out[0] = prefix; out.set(a, 1); if (b) out.set(b, 1 + a.length);
    return out;
  }
  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }
  async function verify(proof) {
    var data = new TextEncoder().encode(proof.leaf_data);
    var leaf = await sha256(join(0, data));
    if (hex(leaf) !== proof.leaf_hash) return false;
    var fn = proof.leaf_index, sn = proof.tree_size - 1, r = leaf;
    if (fn > sn) return false;
    for (var i = 0; i < proof.audit_path.length; i++) {
      var p = unhex(proof.audit_path[i]);
      if (sn === 0) return false;
      if ((fn & 1) === 1 || fn === sn) {
        r = await sha256(join(1, p, r));
        if ((fn & 1) === 0) { while ((fn & 1) === 0 && fn !== 0) { fn >>= 1; sn >>= 1; } }
      } else {
        r = await sha256(join(1, r, p));
      }
      fn >>= 1; sn >>= 1;
    }
    return sn === 0 && hex(r) === proof.root;
  }
  document.querySelectorAll("[data-proof]").forEach(function (section) {
    var status = section.querySelector(".proof-status");
    if (!window.crypto || !crypto.subtle) { status.textContent = status.dataset.unsupported; return; }
    verify(JSON.parse(section.dataset.proof)).then(function (ok) {
      status.textContent = ok ? status.dataset.ok : status.dataset.bad;
      status.classList.add(ok ? "flash-success" : "flash-error");
      section.dataset.verified = ok ? "yes" : "no";
    }, function () { status.textContent = status.dataset.unsupported; });
  });
})();
