# shellcheck shell=sh
# The LSB actions of /etc/init.d/ltsp-dnsmasq, ltsp-httpd and ltsp-sshd (sysvinit
# mode): start-stop-daemon runs ltsp-server-daemon NAME in the background (it execs the
# daemon, so the pidfile names the daemon itself), its output in /var/log/ltsp-NAME.log.
# Exit codes as in /etc/init.d/nbd-server: status 0 running, 1 dead with a pidfile, 3 stopped.

daemon_init() {  # name action
	name="$1"
	pidfile="/run/ltsp-$name.pid"
	case "$2" in
		start)
			printf 'Starting ltsp-%s: ' "$name"
			if start-stop-daemon --status --pidfile "$pidfile"; then echo "already running"; return 0; fi
			start-stop-daemon --start --quiet --background --make-pidfile --pidfile "$pidfile" \
				--output "/var/log/ltsp-$name.log" --exec /usr/local/sbin/ltsp-server-daemon -- "$name" \
				|| { echo "FAILED"; return 1; }
			echo "OK (pid $(cat "$pidfile"))"
			;;
		stop)
			printf 'Stopping ltsp-%s: ' "$name"
			start-stop-daemon --stop --quiet --retry TERM/10/KILL/5 --remove-pidfile --pidfile "$pidfile"
			rc=$?
			# 1: nothing was running, which is what stop wants.
			case $rc in 0) echo "OK" ;; 1) echo "not running" ;; *) echo "FAILED"; return 1 ;; esac
			;;
		restart|force-reload) daemon_init "$name" stop && daemon_init "$name" start ;;
		status)
			start-stop-daemon --status --pidfile "$pidfile"
			rc=$?
			case $rc in
				0) echo "ltsp-$name (pid $(cat "$pidfile")) is running..." ;;
				1) echo "ltsp-$name dead but pid file exists" ;;
				*) echo "ltsp-$name is stopped" ;;
			esac
			return $rc
			;;
		*) echo "Usage: /etc/init.d/ltsp-$name {start|stop|restart|force-reload|status}" >&2; return 2 ;;
	esac
}
