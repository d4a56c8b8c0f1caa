import { expect } from 'chai';
import { IDLE_PROMPT, SizeSync, sttyCommand } from './size-sync';

const SIZE = { rows: 40, cols: 120 };

describe('SizeSync: the guest tty learns the terminal size only at an idle shell prompt', () => {
  it('types stty rows/cols once the console sits quiet at a prompt', () => {
    const s = new SizeSync();
    s.output('Debian GNU/Linux 12 c1 ttyS0\r\n\r\nroot@c1:~# ');
    expect(s.resized(SIZE), 'not before the console was quiet a moment').to.equal(undefined);
    expect(s.settled()).to.equal('stty rows 40 cols 120\r');
    expect(s.pending).to.equal(false);
    // Its echo and the next prompt; quiet at that prompt, a resize goes in at once.
    s.output('stty rows 40 cols 120\r\nroot@c1:~# ');
    expect(s.settled()).to.equal(undefined);
    expect(s.resized({ rows: 50, cols: 132 })).to.equal('stty rows 50 cols 132\r');
  });

  it('a line printed after the prompt (a kernel message) is not a prompt: the size waits for the next one', () => {
    const s = new SizeSync();
    s.resized(SIZE);
    s.output('root@c1:~# ');
    s.output('[   61.2] random: crng init done\r\n');
    expect(s.settled()).to.equal(undefined);
    s.output('root@c1:~# ');
    expect(s.settled()).to.equal('stty rows 40 cols 120\r');
  });

  it('waits for the next prompt when a full-screen program has the console (it would get the keys)', () => {
    const s = new SizeSync();
    s.output('root@c1:~# ');
    s.typed(Buffer.from('vi /etc/hosts\r'));
    s.output('vi /etc/hosts\r\n\x1b[?1049h\x1b[H\x1b[2J127.0.0.1 localhost\r\n~\r\n~\x1b[1;1H');
    expect(s.resized(SIZE)).to.equal(undefined);
    expect(s.settled()).to.equal(undefined);
    expect(s.pending).to.equal(true);
    // :q, and the shell's prompt is back (with bash's bracketed-paste switch around it).
    s.output('\x1b[?1049l\r\x1b[?2004hroot@c1:~# ');
    expect(s.settled()).to.equal('stty rows 40 cols 120\r');
  });

  it('does not join a line the person is writing at the prompt', () => {
    const s = new SizeSync();
    s.output('root@c1:~# ');
    s.settled();
    s.typed(Buffer.from('ech'));
    expect(s.resized(SIZE)).to.equal(undefined);
    s.output('ech');
    expect(s.settled()).to.equal(undefined);
    s.typed(Buffer.from('o hi\r'));
    s.output('o hi\r\nhi\r\nroot@c1:~# ');
    expect(s.settled()).to.equal('stty rows 40 cols 120\r');
  });

  it('reads a prompt whose escape sequences a serial line split across chunks (QEMU hands its output over a few bytes at a time)', () => {
    const s = new SizeSync();
    s.resized(SIZE);
    for (const chunk of ['\x1b[?2004l\r', '\r\n\x1b[?20', '04hroot@ltsp-client:', '~# ']) s.output(chunk);
    expect(s.settled()).to.equal('stty rows 40 cols 120\r');
  });

  it('a guest without stty (dracut\'s initramfs) says so once: no size is typed at it again', () => {
    const s = new SizeSync();
    s.resized(SIZE);
    s.output('sh-5.2# ');
    expect(s.settled()).to.equal('stty rows 40 cols 120\r');
    s.output('stty rows 40 cols 120\r\nsh: stty: command not found\r\nsh-5.2# ');
    expect(s.settled()).to.equal(undefined);
    expect(s.resized({ rows: 50, cols: 132 })).to.equal(undefined);
    expect(s.pending).to.equal(false);
  });

  it('types each size once, the last one asked for', () => {
    const s = new SizeSync();
    s.output('less /var/log/syslog\r\n');
    s.resized({ rows: 30, cols: 100 });
    s.resized(SIZE);
    s.output('root@c1:~# ');
    expect(s.settled()).to.equal('stty rows 40 cols 120\r');
    s.output('stty rows 40 cols 120\r\nroot@c1:~# ');
    expect(s.settled()).to.equal(undefined);
  });

  it('knows the prompts of the lab image, dracut\'s emergency shell and plain shells, and not sulogin\'s question', () => {
    for (const p of ['root@c1:~# ', 'root@c1:/var/log# ', 'dracut:/# ', 'sh-5.2# ', 'user@host:~$ ', '# ']) expect(IDLE_PROMPT.test(p), p).to.equal(true);
    for (const p of ['(or press Control-D to continue): ', 'c1 login: ', 'Password: ', '~', 'root@c1:~# ls', '#']) expect(IDLE_PROMPT.test(p), p).to.equal(false);
  });

  it('the command is the one stty(1) takes', () => {
    expect(sttyCommand({ rows: 24, cols: 80 })).to.equal('stty rows 24 cols 80\r');
  });
});
