/**
 * How long dracut's initqueue retries before it gives up with "Could not boot." and
 * starts its emergency shell (dracut.cmdline(7) rd.retry; dracut-initqueue counts
 * 2 x rd.retry loops of udev settle + 0.5 s sleep, default 180 s). Measured on this
 * stack under TCG with a root it cannot reach: rd.retry=20 gave up 30 s after the
 * initqueue started, so dracut's default leaves a person waiting about 4.5 minutes for
 * a failure the harness saw in the first seconds. 30 s is above what a client that
 * boots spends in the initqueue (NBD connects 6-17 s after it starts here).
 */
export const RESCUE_RETRY_S = 30;

/**
 * `rd.shell`: dracut-emergency starts a shell (sulogin -e) when the initramfs fails. It is
 * dracut 059's default already (getargbool 1 rd.shell); said outright so a kept client
 * never halts instead. A user's own --append comes after these, so it wins (dracut reads
 * the last value).
 */
export const RESCUE_ARGS = ['rd.shell', `rd.retry=${RESCUE_RETRY_S}`];
