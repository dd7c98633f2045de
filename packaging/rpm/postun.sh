# notaryd %postun (%systemd_postun_with_restart): reload systemd; on upgrade, restart notaryd
# only if it runs. On erase, remove the directories %post created when nothing is left in
# them (revocation bundles and trust stores the operator added stay). The group stays.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -ge 1 ]; then
        systemctl try-restart notaryd.service >/dev/null 2>&1 || :
    fi
fi
if [ "$1" -eq 0 ]; then
    for d in /var/lib/notaryd/revocation /var/lib/notaryd /var/log/notaryd \
             /etc/notaryd/truststore/x509/ca/unconfigured \
             /etc/notaryd/truststore/x509/ca \
             /etc/notaryd/truststore/x509/signingAuthority \
             /etc/notaryd/truststore/x509/tsa \
             /etc/notaryd/truststore/x509 \
             /etc/notaryd/truststore \
             /etc/notaryd /usr/libexec/notaryd; do
        [ ! -d "$d" ] || rmdir "$d" 2>/dev/null || :
    done
fi
