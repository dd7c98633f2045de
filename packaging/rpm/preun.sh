# notaryd %preun (%systemd_preun): on erase, disable and stop the units.
if [ "$1" -eq 0 ] && command -v systemctl >/dev/null 2>&1; then
    systemctl --no-reload disable --now notaryd.service notaryd.socket notaryd-cri.socket >/dev/null 2>&1 || :
fi
