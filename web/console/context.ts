/** What every console screen is given. */
import type { Me } from './api';
import type { View } from './ui';

export interface Ctx {
  me: Me;
  /** owners and managers; viewers only look */
  canEdit: boolean;
  isOwner: boolean;
  /** the path segments after the screen's name (e.g. the registrant id) */
  params: string[];
  query: URLSearchParams;
  /** draws the current screen again (after a change) */
  redraw: () => void;
  /** the user's own data changed (2FA method, name) */
  setMe: (me: Me) => void;
}

export type Screen = (ctx: Ctx) => Promise<View> | View;
