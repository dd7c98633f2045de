# notaryd %pre: the notaryd group (what %sysusers_create_package does), before the files land.
if command -v systemd-sysusers >/dev/null 2>&1; then
    echo 'g notaryd -' | systemd-sysusers --replace=/usr/lib/sysusers.d/notaryd.conf - >/dev/null 2>&1 || :
fi
getent group notaryd >/dev/null 2>&1 || groupadd -r notaryd >/dev/null 2>&1 || :
