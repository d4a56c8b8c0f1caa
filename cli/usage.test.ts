import { expect } from 'chai';
import { BOOT_SPEC } from './args';
import { BOOT_USAGE, USAGES, wantsHelp } from './usage';

describe('./lab COMMAND --help', () => {
  it('the boot usage names every option ./lab boot takes', () => {
    for (const name of Object.keys(BOOT_SPEC)) expect(BOOT_USAGE, `--${name}`).to.contain(`--${name}`);
  });

  it('each usage starts with its own command line', () => {
    for (const [cmd, text] of Object.entries(USAGES)) expect(text.startsWith(`./lab ${cmd}`), cmd).to.equal(true);
  });

  it('takes --help or -h anywhere among the arguments, and nothing like them', () => {
    expect(wantsHelp(['--clients', '2', '--help'])).to.equal(true);
    expect(wantsHelp(['-h'])).to.equal(true);
    expect(wantsHelp(['--helpful', '--append', 'help'])).to.equal(false);
  });
});
