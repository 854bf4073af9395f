"""A small but real OpenID Connect provider for the tests, run as its own process:

    python tests/oidc_provider.py PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI_PREFIX

Discovery, JWKS, authorize (a page where the tester signs in by typing an IIN, as on a test
eGov stand), token (authorization code, client_secret_basic or _post, single-use codes,
PKCE S256 when sent) and userinfo. ID tokens are RS256-signed with Authlib's JOSE.
"""

import base64
import hashlib
import html
import secrets
import sys
import time
from urllib.parse import urlencode

from authlib.jose import JsonWebKey, jwt
from flask import Flask, jsonify, redirect, request

IIN_CLAIM = "iin"


def create_provider(issuer, client_id, client_secret, redirect_prefix):
    app = Flask("oidc-test-provider")
    key = JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": "test-key"})
    codes, tokens = {}, {}

    @app.get("/.well-known/openid-configuration")
    def discovery():
        return jsonify(
            issuer=issuer,
            authorization_endpoint=f"{issuer}/authorize",
            token_endpoint=f"{issuer}/token",
            userinfo_endpoint=f"{issuer}/userinfo",
            jwks_uri=f"{issuer}/jwks",
            response_types_supported=["code"],
            subject_types_supported=["public"],
            id_token_signing_alg_values_supported=["RS256"],
            token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
            scopes_supported=["openid", "profile"],
            code_challenge_methods_supported=["S256"],
            claims_supported=["sub", "name", IIN_CLAIM],
        )

    @app.get("/jwks")
    def jwks():
        return jsonify(keys=[key.as_dict(is_private=False)])

    def _check_request(args):
        if args.get("client_id") != client_id:
            return "unknown client"
        if not (args.get("redirect_uri") or "").startswith(redirect_prefix):
            return "redirect_uri not registered"
        if args.get("response_type") != "code" or "openid" not in args.get("scope", "").split():
            return "only the code flow with scope openid"
        return None

    @app.route("/authorize", methods=["GET", "POST"])
    def authorize():
        args = request.values
        problem = _check_request(args)
        if problem:
            return problem, 400
        if request.method == "GET":
            hidden = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                for k, v in args.items()
            )
            return (
                '<!doctype html><html lang="kk"><title>Test eGov</title><main>'
                "<h1>Test identity provider</h1>"
                f'<form method="post">{hidden}<label for="iin">IIN</label>'
                '<input id="iin" name="iin"><label for="name">Name</label>'
                '<input id="name" name="name"><button type="submit">Confirm</button>'
                "</form></main></html>"
            )
        code = secrets.token_urlsafe(16)
        codes[code] = {
            "iin": args.get("iin", ""),
            "name": args.get("name", ""),
            "nonce": args.get("nonce"),
            "redirect_uri": args["redirect_uri"],
            "challenge": args.get("code_challenge"),
            "at": time.time(),
        }
        query = urlencode({"code": code, "state": args.get("state", "")})
        return redirect(f"{args['redirect_uri']}?{query}")

    @app.post("/token")
    def token():
        form = request.form
        auth = request.authorization
        cid = auth.username if auth else form.get("client_id")
        secret = auth.password if auth else form.get("client_secret")
        if cid != client_id or secret != client_secret:
            return jsonify(error="invalid_client"), 401
        grant = codes.pop(form.get("code", ""), None)  # single use
        if (
            form.get("grant_type") != "authorization_code"
            or grant is None
            or time.time() - grant["at"] > 60
            or grant["redirect_uri"] != form.get("redirect_uri")
        ):
            return jsonify(error="invalid_grant"), 400
        if grant["challenge"]:
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["challenge"]:
                return jsonify(error="invalid_grant"), 400
        now = int(time.time())
        sub = hashlib.sha256(grant["iin"].encode()).hexdigest()[:24]
        claims = {
            "iss": issuer,
            "sub": sub,
            "aud": client_id,
            "iat": now,
            "exp": now + 300,
            "name": grant["name"],
            IIN_CLAIM: grant["iin"],
        }
        if grant["nonce"]:
            claims["nonce"] = grant["nonce"]
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, key).decode()
        access = secrets.token_urlsafe(24)
        tokens[access] = {k: claims[k] for k in ("sub", "name", IIN_CLAIM)}
        return jsonify(access_token=access, token_type="Bearer", expires_in=300, id_token=id_token)

    @app.get("/userinfo")
    def userinfo():
        header = request.headers.get("Authorization", "")
        claims = tokens.get(header.removeprefix("Bearer ").strip())
        if claims is None:
            return jsonify(error="invalid_token"), 401
        return jsonify(claims)

    return app


if __name__ == "__main__":
    port, client_id, client_secret, redirect_prefix = sys.argv[1:5]
    issuer = f"http://127.0.0.1:{port}"
    from werkzeug.serving import run_simple

    run_simple(
        "127.0.0.1",
        int(port),
        create_provider(issuer, client_id, client_secret, redirect_prefix),
        threaded=True,
    )
