import type { Deadline } from '../common/deadline';
import type { StartedThinClient } from '../boot/thin-client';
import type { StartedLabNetwork } from '../network/lab-network';

/** The QOM id of the delay fault's netdev filter. */
const DELAY_FILTER = 'ltsp-fault-delay';

/** Lab faults on one client's NIC: its link, frames lost on its bridge port, frames held up. */
export class ClientFaults {
  constructor(
    private readonly client: StartedThinClient,
    private readonly network: StartedLabNetwork,
  ) {}

  /** The NIC's link down (false) or up (QMP set_link on its netdev). */
  async setLink(up: boolean, deadline: Deadline): Promise<void> {
    await this.client.setLink(up, deadline);
  }

  /** `pct` % of the client's frames dropped on the bridge, both ways. */
  async addLoss(pct: number, deadline: Deadline): Promise<void> {
    await this.network.addLoss(this.client.tap, pct, deadline);
  }

  async removeLoss(deadline: Deadline): Promise<void> {
    await this.network.removeLoss(this.client.tap, deadline);
  }

  /** Frames the loss fault dropped so far. */
  lostFrames(deadline: Deadline): Promise<number> {
    return this.network.lostFrames(this.client.tap, deadline);
  }

  /**
   * Every frame to and from the client held up to `ms` (QEMU's filter-buffer on its
   * netdev releases what it holds every `ms`).
   */
  async addDelay(ms: number, deadline: Deadline): Promise<void> {
    await this.client.addNicFilter('filter-buffer', DELAY_FILTER, { queue: 'all', interval: Math.round(ms * 1000) }, deadline);
  }

  async removeDelay(deadline: Deadline): Promise<void> {
    await this.client.removeNicFilter(DELAY_FILTER, deadline);
  }
}
