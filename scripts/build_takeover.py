#!/usr/bin/env python3
"""Builds policies/takeover.toml from the can-i-take-over-xyz fingerprints.

Run from the repository root with the shared data beside it:
    python3 scripts/build_takeover.py \
        ../shared/data/takeover/can-i-take-over-xyz-fingerprints.json \
        policies/takeover.toml

Both arguments are optional; the defaults are the paths above, taken relative
to the repository root (not the working directory).

The output is the project's own policy file; siteward never reads the upstream
JSON. The facts (which CNAME suffixes belong to which service, what an
unclaimed resource answers, whether it can be claimed) come from
EdOverflow/can-i-take-over-xyz, which states no licence. The Chinese cloud
entries at the end (CHINESE_CLOUDS) are maintained here by hand.

Rules applied to upstream entries:
- IP addresses and URLs in `cname` are not suffixes and are dropped
  (reported on stderr); duplicates are removed.
- when upstream's `cname` is empty or holds nothing usable, the suffixes come
  from KNOWN_CNAME_SUFFIXES (maintained here by hand) and the entry carries a
  "# note: cname suffixes added by siteward" comment; everything else in it
  (verdict, fingerprint, nxdomain, status) is still upstream's, unchanged.
- entries still without a CNAME suffix are skipped (reported on stderr):
  they cannot be matched from DNS.
- fingerprint "NXDOMAIN": no `body`, the `nxdomain` flag carries it.
- fingerprint "HTTP_STATUS=N": no `body`, `status = N`.
- any other fingerprint is literal text and becomes a regex matching exactly
  that text (escaped like Rust's `regex::escape`). Upstream's markdown form
  "`a` `b`" (two alternative fingerprints) becomes "a|b". The few fingerprints
  upstream wrote as regexes are translated by hand in REGEX_FINGERPRINTS.
- `http_status`, when set, becomes `status`.
- verdict keeps upstream's `status` exactly.
Output is deterministic: sorted by service name (case-insensitive).
"""
import ipaddress
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SRC = ROOT / ".." / "shared" / "data" / "takeover" / "can-i-take-over-xyz-fingerprints.json"
DEFAULT_DST = ROOT / "policies" / "takeover.toml"

VERDICTS = {"Vulnerable": "vulnerable", "Edge case": "edge", "Not vulnerable": "not_vulnerable"}
LIKELIHOOD = {"vulnerable": "high", "edge": "medium", "not_vulnerable": "low"}

# Upstream fingerprints that are already regexes (written for a markdown
# table), keyed by the exact upstream text, with their Rust-regex translation.
# An upstream change to the text falls back to literal escaping.
REGEX_FINGERPRINTS = {
    # "&#124;" is the markdown table's escape for "|": two alternatives.
    "Site unavailable\\.&#124;Failed to resolve DNS path for this host":
        r"Site unavailable\.|Failed to resolve DNS path for this host",
    # ".*" stands for the tunnel's host name.
    "Tunnel .*.ngrok.io not found": r"Tunnel .*\.ngrok\.io not found",
    # ".*" stands for the blog's host name.
    "Do you want to register .*.wordpress.com?": r"Do you want to register .*\.wordpress\.com\?",
}

# CNAME target suffixes, by upstream service name, for the upstream entries
# whose `cname` list is empty or unusable (upstream documents those services
# by fingerprint only). Used only then: an upstream suffix list always wins.
# Each suffix is a domain the service itself runs and tells its customers to
# point their names at (from the services' own custom-domain documentation).
# A suffix only says which service a CNAME points at; a finding still needs
# the upstream fingerprint (body / status) or, where upstream says
# nxdomain = true, the CNAME target itself being NXDOMAIN.
# Left out on purpose (listed by the build as still skipped):
# - services whose customer CNAME target we do not know for certain:
#   Dreamhost, Frontify, Getresponse, Landingi, Mailchimp, Short.io,
#   Smartling, SmartJobBoard (upstream gives only an IP address);
# - Digital Ocean: upstream's fingerprint ("Domain uses DO name servers with
#   no records in DO.") describes a name-server delegation, not a CNAME, so a
#   CNAME suffix (ondigitalocean.app) would pair it with pages that never say
#   it;
# - Cargo Collective and Fly.io: upstream's fingerprint is the bare phrase
#   "404 Not Found", which any 404 page (nginx's default, an API answering 404
#   at "/") contains, so it would flag ordinary pages.
# Services whose upstream entry has no fingerprint at all (Akamai, Firebase,
# Gitlab, Instapage, Key CDN, Sendgrid, Smugsmug, Squarespace, Statuspage,
# WP Engine) are listed so that they work as soon as upstream adds one; until
# then the build skips them for having no fingerprint.
KNOWN_CNAME_SUFFIXES = {
    "Acquia": ["acquia-sites.com"],
    "Akamai": ["edgekey.net", "edgesuite.net", "akamaiedge.net"],
    "Campaign Monitor": ["createsend.com"],
    "Canny": ["canny.io"],
    "Cloudfront": ["cloudfront.net"],
    "Desk": ["desk.com"],
    "Fastly": ["fastly.net"],
    "Feedpress": ["redirect.feed.press"],
    "Firebase": ["firebaseapp.com", "web.app"],
    "Freshdesk": ["freshdesk.com"],
    "Github": ["github.io"],
    "Gitlab": ["gitlab.io"],
    "Google Cloud Storage": ["storage.googleapis.com"],
    "Google Sites": ["ghs.googlehosted.com"],
    "Heroku": ["herokuapp.com", "herokudns.com", "herokussl.com"],
    "HubSpot": ["hs-sites.com", "hscoremedia.net"],
    "Instapage": ["pageserve.co"],
    "Intercom": ["custom.intercom.help"],
    "Key CDN": ["kxcdn.com"],
    "Kinsta": ["kinsta.cloud"],
    "Mashery": ["mashery.com"],
    "Netlify": ["netlify.app", "netlify.com"],
    "Pantheon": ["pantheonsite.io"],
    "Pingdom": ["stats.pingdom.com"],
    "Readthedocs": ["readthedocs.io", "readthedocs-hosted.com"],
    "Sendgrid": ["sendgrid.net"],
    "Shopify": ["myshopify.com"],
    "Smugsmug": ["domains.smugmug.com"],
    "Squarespace": ["squarespace.com"],
    "Statuspage": ["stspg-customer.com"],
    "Tilda": ["tilda.ws"],
    "Tumblr": ["domains.tumblr.com"],
    "Unbounce": ["unbouncepages.com"],
    "UserVoice": ["uservoice.com"],
    "Vercel": ["vercel.app", "vercel-dns.com"],
    "WP Engine": ["wpengine.com", "wpenginepowered.com"],
    "Webflow": ["proxy-ssl.webflow.com", "proxy.webflow.com"],
    "Wix": ["wixdns.net"],
    "Zendesk": ["zendesk.com"],
}

# Hand notes printed above an entry, keyed by upstream service name, for
# upstream text kept as it is but worth a warning to the reader.
ENTRY_NOTES = {
    "Freshdesk": ["upstream fingerprint contains the example host "
                  "servicedesk.victim.tld, so as literal text it matches no real page"],
}

# Hand-maintained entries (source = "siteward"). These providers require
# proof of domain ownership (a TXT record) before a custom domain can be bound
# to a bucket, so a dangling record is unlikely to be claimable by a stranger.
CHINESE_CLOUDS = [
    {"name": "Alibaba Cloud/OSS", "cname": ["aliyuncs.com"], "body": "NoSuchBucket",
     "status": 404, "server": "AliyunOSS"},
    {"name": "Tencent Cloud/COS", "cname": ["myqcloud.com"], "body": "NoSuchBucket",
     "status": 404, "server": "tencent-cos"},
    {"name": "Huawei Cloud/OBS", "cname": ["myhuaweicloud.com"], "body": "NoSuchBucket",
     "status": 404, "server": "OBS"},
    # Qiniu answers {"error":"no such domain"} for an unbound domain.
    {"name": "Qiniu/Kodo", "cname": ["qiniudns.com", "qbox.me", "clouddn.com"],
     "body": "no such domain", "status": 404},
]

KEY_ORDER = ["name", "cname", "nxdomain", "body", "status", "server",
             "verdict", "likelihood", "source"]

HEADER = """\
# siteward takeover policy: services whose dangling CNAME records may let a
# stranger claim a government host name (subdomain takeover).
#
# GENERATED by scripts/build_takeover.py -- do not edit by hand; edit the
# script and rerun it. The facts come from EdOverflow/can-i-take-over-xyz
# (can-i-take-over-xyz-fingerprints.json; upstream states no licence). The
# "Chinese clouds" section at the end is maintained by hand in the script.
# Where upstream lists no CNAME suffix for a service, the suffixes come from
# the script's KNOWN_CNAME_SUFFIXES table and the entry says so in a
# "# note: cname suffixes added by siteward" comment; the rest of such an
# entry (verdict, fingerprint, nxdomain, status) is upstream's.
#
# One [[service]] table per service. Keys:
#   name        service name; unique.
#   cname       CNAME target suffixes that identify the service; a record
#               matches when its target equals a suffix or ends with
#               "." + suffix.
#   nxdomain    true: a CNAME to this service whose target does not resolve
#               (NXDOMAIN) is claimable.
#   body        optional: a Rust `regex` crate regex matched against the
#               response body of the unclaimed resource. Upstream's literal
#               fingerprints are escaped to match exactly their text.
#               Absent when the service is recognised by NXDOMAIN or status.
#   status      optional: the HTTP status the unclaimed resource answers.
#   server      optional: a substring the `Server` response header must
#               contain (compared case-insensitively).
#   verdict     vulnerable | edge | not_vulnerable, upstream's verdict kept
#               exactly ("Vulnerable", "Edge case", "Not vulnerable").
#               The verdict decides the finding: `not_vulnerable` services
#               never produce a high-likelihood finding.
#   likelihood  high (vulnerable) | medium (edge) | low (not_vulnerable, and
#               the hand-added Chinese clouds).
#   source      "can-i-take-over-xyz", or "siteward" for hand-added entries.
# A response is the service's unclaimed page when every present body /
# status / server condition holds; `nxdomain` is judged from DNS alone.
"""

CHINESE_HEADER = """\
# ---------------------------------------------------------------------------
# Chinese clouds (source = "siteward"), maintained by hand in
# scripts/build_takeover.py (CHINESE_CLOUDS).
# These providers require proof of domain ownership (TXT record verification)
# before a custom domain can be bound, so takeover is unlikely even though the
# record dangles: verdict "edge", likelihood "low". The dangling record is
# still worth cleaning up.
# ---------------------------------------------------------------------------
"""

RUST_META = set("\\.+*?()|[]{}^$#&-~")


def rust_escape(text):
    """Same as Rust's regex::escape: backslash before each meta character."""
    return "".join("\\" + c if c in RUST_META else c for c in text)


def toml_str(s):
    """A TOML string that round-trips exactly. Basic ("...") strings, except
    that a value with backslashes (an escaped regex) is written as a literal
    ('...') string when it can be, so the regex reads as it is."""
    if ("\\" in s and "'" not in s
            and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in s)):
        return "'" + s + "'"
    out = []
    for c in s:
        if c == "\\":
            out.append("\\\\")
        elif c == '"':
            out.append('\\"')
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append("\\u%04X" % ord(c))
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return toml_str(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(v)


HOST_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


def is_ip(s):
    try:
        ipaddress.ip_address(s)
        return True
    except ValueError:
        return False


def clean_cnames(service, raw, notes):
    out, dups = [], []
    for c in raw:
        s = c.strip().lower().rstrip(".")
        if s.startswith("*."):
            s = s[2:]
        s = s.lstrip(".")
        if is_ip(s):
            notes.append("upstream cname also lists %s (an IP address, not a CNAME suffix); dropped" % c)
            continue
        if not HOST_RE.match(s):
            notes.append("upstream cname lists %r (not a host-name suffix); dropped" % c)
            continue
        if s in out:
            dups.append(s)
            continue
        out.append(s)
    if dups:
        notes.append("upstream cname list repeats %s; duplicates removed" % ", ".join(dups))
    return out


def check_known_suffixes(data, log):
    """KNOWN_CNAME_SUFFIXES must hold clean, non-overlapping host-name
    suffixes; a key that no longer names an upstream entry with an empty or
    unusable cname list is reported (the hand entry is then unused)."""
    by_name = {e["service"]: e for e in data}
    for name, suffixes in KNOWN_CNAME_SUFFIXES.items():
        for sfx in suffixes:
            if sfx != sfx.strip().lower().strip(".") or not HOST_RE.match(sfx):
                raise SystemExit("KNOWN_CNAME_SUFFIXES[%r]: %r is not a host-name suffix"
                                 % (name, sfx))
            if any(sfx != o and sfx.endswith("." + o) for o in suffixes):
                raise SystemExit("KNOWN_CNAME_SUFFIXES[%r]: %r is covered by another suffix"
                                 % (name, sfx))
        if len(set(suffixes)) != len(suffixes):
            raise SystemExit("KNOWN_CNAME_SUFFIXES[%r] repeats a suffix" % name)
        e = by_name.get(name)
        if e is None:
            log("note: KNOWN_CNAME_SUFFIXES[%r] unused: no upstream entry of that name" % name)
        elif clean_cnames(name, e.get("cname") or [], []):
            log("note: KNOWN_CNAME_SUFFIXES[%r] unused: upstream now lists %s"
                % (name, json.dumps(e.get("cname"))))


def body_regex(fp, notes):
    if fp in REGEX_FINGERPRINTS:
        notes.append("upstream fingerprint %r is a regex; translated by hand" % fp)
        return REGEX_FINGERPRINTS[fp]
    if "` `" in fp:
        parts = fp.split("` `")
        notes.append("upstream fingerprint lists %d alternatives; joined with |" % len(parts))
        return "|".join(rust_escape(p) for p in parts)
    return rust_escape(fp)


def convert(e, log):
    name = e["service"]
    notes = []
    cname = clean_cnames(name, e.get("cname") or [], notes)
    if not cname and name in KNOWN_CNAME_SUFFIXES:
        cname = list(KNOWN_CNAME_SUFFIXES[name])
        notes.append("cname suffixes added by siteward (upstream lists none%s)"
                     % (" usable" if e.get("cname") else ""))
    notes.extend(ENTRY_NOTES.get(name, []))
    if not cname:
        why = "" if not e.get("cname") else ", it is not a host-name suffix"
        log("skipped %r: no CNAME suffix (upstream cname %s%s; none in KNOWN_CNAME_SUFFIXES)"
            % (name, json.dumps(e.get("cname")), why))
        return None
    if e["status"] not in VERDICTS:
        raise SystemExit("unknown upstream status %r for %r" % (e["status"], name))
    verdict = VERDICTS[e["status"]]
    if bool(e.get("vulnerable")) != (verdict == "vulnerable"):
        log("warning %r: vulnerable=%r disagrees with status %r; keeping status"
            % (name, e.get("vulnerable"), e["status"]))
    out = {"name": name, "cname": cname, "nxdomain": bool(e.get("nxdomain"))}
    fp = (e.get("fingerprint") or "").strip()
    status = e.get("http_status")
    m = re.fullmatch(r"HTTP_STATUS=(\d+)", fp)
    if fp == "NXDOMAIN":
        if not out["nxdomain"]:
            log("warning %r: fingerprint NXDOMAIN but nxdomain=false; setting nxdomain" % name)
            out["nxdomain"] = True
    elif m:
        if status is not None and int(status) != int(m.group(1)):
            raise SystemExit("%r: fingerprint %s disagrees with http_status %r" % (name, fp, status))
        status = int(m.group(1))
    elif fp:
        out["body"] = body_regex(fp, notes)
    if status is not None:
        out["status"] = int(status)
    out["verdict"] = verdict
    out["likelihood"] = LIKELIHOOD[verdict]
    out["source"] = "can-i-take-over-xyz"
    if not out["nxdomain"] and "body" not in out and "status" not in out:
        log("skipped %r: no fingerprint (no NXDOMAIN, body or status)" % name)
        return None
    urls = re.findall(r"\((https?://[^)\s]+)\)", e.get("discussion") or "")
    return out, notes, urls


def render(entry, notes=(), urls=()):
    lines = ["[[service]]"]
    for u in urls:
        lines.append("# see %s" % u)
    for n in notes:
        lines.append("# note: %s" % n)
    for k in KEY_ORDER:
        if k in entry:
            lines.append("%s = %s" % (k, toml_value(entry[k])))
    unknown = set(entry) - set(KEY_ORDER)
    if unknown:
        raise SystemExit("unknown keys %s" % sorted(unknown))
    return "\n".join(lines) + "\n"


def main(argv):
    src = Path(argv[1]) if len(argv) > 1 else DEFAULT_SRC
    dst = Path(argv[2]) if len(argv) > 2 else DEFAULT_DST
    log = lambda msg: print(msg, file=sys.stderr)
    data = json.loads(src.read_text(encoding="utf-8"))
    check_known_suffixes(data, log)

    converted = [r for r in (convert(e, log) for e in data) if r is not None]
    converted.sort(key=lambda r: (r[0]["name"].casefold(), r[0]["name"]))

    # Keep names unique: a repeated name gets its first CNAME suffix appended.
    seen = set()
    hand = [dict(c, nxdomain=False, verdict="edge", likelihood="low", source="siteward")
            for c in CHINESE_CLOUDS]
    for entry in [r[0] for r in converted] + hand:
        if entry["name"] in seen:
            new = "%s (%s)" % (entry["name"], entry["cname"][0])
            log("duplicate name %r renamed %r" % (entry["name"], new))
            entry["name"] = new
        if entry["name"] in seen:
            raise SystemExit("duplicate name %r" % entry["name"])
        seen.add(entry["name"])

    parts = [HEADER]
    for entry, notes, urls in converted:
        parts.append("\n" + render(entry, notes, urls))
    parts.append("\n" + CHINESE_HEADER)
    for entry in hand:
        parts.append("\n" + render(entry))
    text = "".join(parts)

    # Self-check: the file parses and holds exactly what was meant.
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        tomllib = None
    if tomllib is not None:
        parsed = tomllib.loads(text)["service"]
        expected = [r[0] for r in converted] + hand
        if parsed != expected:
            raise SystemExit("round-trip mismatch")

    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(text, encoding="utf-8")
    counts = {}
    for e in [r[0] for r in converted] + hand:
        counts[e["verdict"]] = counts.get(e["verdict"], 0) + 1
    log("wrote %s: %d services (%s); %d upstream entries skipped"
        % (dst, len(converted) + len(hand),
           ", ".join("%s %d" % kv for kv in sorted(counts.items())),
           len(data) - len(converted)))


if __name__ == "__main__":
    main(sys.argv)
