#!/usr/bin/env python3
"""Pushes every manifest and blob of an OCI image layout to a registry over plain HTTP
(no authentication), keeping the layout's tags: scripts/systemd-sandbox-test.sh uses it to
serve examples/hello/layout (the image, its signatures and the referrers tag index).

    push-oci-layout.py [--unsigned] LAYOUT_DIR http://HOST:PORT REPOSITORY

--unsigned pushes the tagged images only: no signature manifest, no referrers tag index.

Standard library only. Manifests are pushed after the blobs they name, signature manifests
before the image and the referrers index last, as a registry without the referrers API
expects them.
"""

import json
import os
import sys
import urllib.request

MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
)


def request(method, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    return urllib.request.urlopen(req)


def main():
    args = sys.argv[1:]
    unsigned = args[:1] == ["--unsigned"]
    if unsigned:
        args = args[1:]
    layout, base, repo = args[:3]
    blobs = os.path.join(layout, "blobs", "sha256")
    manifests = {}
    for digest in sorted(os.listdir(blobs)):
        with open(os.path.join(blobs, digest), "rb") as f:
            data = f.read()
        try:
            media_type = json.loads(data).get("mediaType")
        except (ValueError, AttributeError):
            media_type = None
        if media_type in MANIFEST_TYPES:
            manifests[digest] = (media_type, data)
            continue
        location = request("POST", f"{base}/v2/{repo}/blobs/uploads/").headers["Location"]
        if location.startswith("/"):
            location = base + location
        sep = "&" if "?" in location else "?"
        request("PUT", f"{location}{sep}digest=sha256:{digest}", data,
                {"Content-Type": "application/octet-stream"})
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    tags = {
        m["digest"].split(":", 1)[1]: m["annotations"]["org.opencontainers.image.ref.name"]
        for m in index["manifests"]
        if "org.opencontainers.image.ref.name" in m.get("annotations", {})
    }
    # Untagged (signatures) first, then tags, the referrers tag schema's "sha256-…" tag last.
    order = sorted(manifests, key=lambda d: (d in tags, tags.get(d, "").startswith("sha256-")))
    if unsigned:
        order = [d for d in order if d in tags and not tags[d].startswith("sha256-")]
    for digest in order:
        media_type, data = manifests[digest]
        ref = tags.get(digest, "sha256:" + digest)
        response = request("PUT", f"{base}/v2/{repo}/manifests/{ref}", data,
                           {"Content-Type": media_type})
        print(ref, response.status)


if __name__ == "__main__":
    main()
