# notaryd %post: the empty directories the package does not ship as files, then %systemd_post:
# on a first install the distribution's presets decide (Fedora, RHEL: disabled unless a preset
# enables it); nothing is started.
for d in /etc/notaryd/truststore/x509/ca \
         /etc/notaryd/truststore/x509/signingAuthority \
         /etc/notaryd/truststore/x509/tsa \
         /var/lib/notaryd/revocation; do
    [ -d "$d" ] || install -d -m 0755 "$d"
done
if [ "$1" -eq 1 ] && command -v systemctl >/dev/null 2>&1; then
    systemctl --no-reload preset notaryd.service notaryd.socket notaryd-cri.socket >/dev/null 2>&1 || :
fi
