# cpack builds a .deb that carries the binaries, units, sysusers snippet,
# man pages and the conf as a conffile, with scripts that create the
# forq group. (Installing it under a real systemd: systemd.sh.)
. "$(dirname "$0")/lib.sh"
command -v dpkg-deb >/dev/null || fail "dpkg-deb is not installed"
deb=$("$FORQ_SOURCE_DIR/scripts/package" "$T/pkg" | tail -n 1)
[ -f "$deb" ] || fail "no package built"
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/sbin/forqd ./usr/bin/forq ./usr/libexec/forq/forq-top ./etc/forq/forqd.conf \
	./lib/systemd/system/forqd.service ./lib/systemd/system/forqd.socket \
	./usr/lib/systemd/user/forqd.service ./usr/lib/systemd/user/forqd.socket \
	./usr/lib/sysusers.d/forq.conf ./usr/share/man/man1/forq.1 \
	./usr/share/man/man5/forqd.conf.5 ./usr/share/man/man8/forqd.8 \
	./usr/share/bash-completion/completions/forq \
	./usr/share/zsh/vendor-completions/_forq \
	./usr/share/fish/vendor_completions.d/forq.fish; do
	grep -qxF "$f" <<<"$contents" || fail "$f is not in the package"
done
mkdir "$T/ctl"
dpkg-deb -e "$deb" "$T/ctl"
[ "$(cat "$T/ctl/conffiles")" = /etc/forq/forqd.conf ] || fail "conffiles: $(cat "$T/ctl/conffiles")"
grep -q "systemd-sysusers forq.conf" "$T/ctl/postinst" || fail "postinst does not create the group"
grep -q "^Depends:.*libsqlite3" "$T/ctl/control" || fail "no library dependencies"
ok "$(basename "$deb"): binaries, units, sysusers, man pages, bash, zsh and fish completion, conffile, postinst"

# cmake --install never overwrites a changed conf.
dest=$T/dest
DESTDIR=$dest cmake --install "$T/pkg" >/dev/null
echo "# changed by the admin" >>"$dest/etc/forq/forqd.conf"
DESTDIR=$dest cmake --install "$T/pkg" | grep -q "Keeping: $dest/etc/forq/forqd.conf" ||
	fail "cmake --install did not say it kept the conf"
tail -n 1 "$dest/etc/forq/forqd.conf" | grep -q "changed by the admin" || fail "the changed conf was overwritten"
for f in usr/sbin/forqd lib/systemd/system/forqd.service usr/share/man/man8/forqd.8; do
	[ -e "$dest/$f" ] || fail "cmake --install did not install $f"
done
ok "cmake --install puts everything in place and keeps a changed conf"
