// $default: whatever matched no route: a malformed frame, an unknown action, the
// heartbeat `ping` (answered without touching the database), `purge` (delete my own
// messages), `tour_seen` (the welcome tour, once per account), and `members` and
// `rooms` (the rest of a list a reply could not hold), `typing`, `read` (marks a
// room read on every device), `settings`, `search` (the messages of my rooms),
// `set_timer` (a room's disappearing-messages timer), the conversation actions
// `edit`, `delete`, `react` and `changes`, and the file grants `upload` and
// `download`, the account actions `change_password`, `change_email`,
// `confirm_email`, `sessions` and `revoke_session` (E18), the two-factor
// settings `two_factor_setup`, `two_factor_enable`, `two_factor_disable` and
// `recovery_codes` (E19), the channel `directory` and the moderation actions
// (moderation.ts, E21), and (E20) `set_profile`, `profiles`, `avatars`,
// `delete_account`, `export_data`, and E22's `block`, `unblock`, `blocks`,
// `report` and the administrators' actions, and E23's `watch` and
// `online_count` (presence subscriptions), which have no route of their own
// `report` and the administrators' actions, and E25's `activity`,
// `push_subscribe`, `push_subscriptions` and `push_unsubscribe`, which have no route of their own
// because API Gateway's are fixed.
import * as v from 'valibot';
import { BlockFrame, BlocksFrame, UnblockFrame, block, listBlocks, unblock } from './core/blocks.js';
import { CONVERSATION_ACTIONS } from './core/conversations.js';
import { DirectoryFrame, directory } from './core/directory.js';
import { MODERATION_ACTIONS } from './core/moderation.js';
import { ADMINISTRATION_ACTIONS } from './core/administration.js';
import { ReportFrame, reportMessage } from './core/reports.js';
import { SetTimerFrame, setTimer } from './core/disappearing.js';
import { BadRequest } from './core/errors.js';
import { DownloadFrame, UploadFrame, downloadUrls, grantUpload } from './core/files.js';
import { Envelope, TourSeenFrame, describeIssues } from './core/protocol.js';
import { MembersFrame, RoomsFrame, membersPage, roomsPage } from './core/listing.js';
import { PurgeFrame, purgeMyMessages } from './core/purge.js';
import { OnlineCountFrame, WatchFrame, onlineCount, watch } from './core/presence.js';
import { ReadFrame, SettingsFrame, changeSettings, markRoomRead } from './core/reads.js';
import { SearchFrame, search } from './core/search.js';
import { markTourSeen } from './core/tour.js';
import { ChangeEmailFrame, ChangePasswordFrame, ConfirmEmailFrame, changeEmail, changePassword, confirmEmail } from './core/recovery.js';
import { RevokeSessionFrame, SessionsFrame, listSessions, revokeSession } from './core/sessions.js';
import { TypingFrame, typing } from './core/typing.js';
import {
  RecoveryCodesFrame,
  TwoFactorDisableFrame,
  TwoFactorEnableFrame,
  TwoFactorSetupFrame,
  disableTwoFactor,
  enableTwoFactor,
  regenerateRecoveryCodes,
  setupTwoFactor,
} from './core/two-factor.js';
import { DeleteAccountFrame, deleteAccount } from './core/deletion.js';
import { ExportFrame, exportData } from './core/export.js';
import { AvatarsFrame, ProfilesFrame, SetProfileFrame, avatarUrls, profiles, setProfile } from './core/profile.js';
import type { Outcome } from './core/outcome.js';
import {
  ActivityFrame,
  PushSubscribeFrame,
  PushSubscriptionsFrame,
  PushUnsubscribeFrame,
  listPushSubscriptions,
  pushSubscribe,
  pushUnsubscribe,
  reportActivity,
} from './core/push.js';
import type { Deps } from './core/ports.js';
import { messageRoute } from './route.js';

// Loose, so an action's own fields survive for its schema below.
const DefaultFrame = v.looseObject(Envelope.entries);

/** An action on `$default`: its frame's schema and the core function it calls. */
interface DefaultAction {
  schema: v.GenericSchema<unknown, unknown>;
  run: (deps: Deps, connectionId: string, frame: never) => Promise<Outcome>;
}

const ACTIONS: Record<string, DefaultAction> = {
  purge: { schema: PurgeFrame, run: purgeMyMessages },
  tour_seen: { schema: TourSeenFrame, run: markTourSeen },
  members: { schema: MembersFrame, run: membersPage },
  rooms: { schema: RoomsFrame, run: roomsPage },
  typing: { schema: TypingFrame, run: typing },
  read: { schema: ReadFrame, run: markRoomRead },
  settings: { schema: SettingsFrame, run: changeSettings },
  search: { schema: SearchFrame, run: search },
  set_timer: { schema: SetTimerFrame, run: setTimer },
  upload: { schema: UploadFrame, run: grantUpload },
  download: { schema: DownloadFrame, run: downloadUrls },
  // account recovery and devices (E18)
  change_password: { schema: ChangePasswordFrame, run: changePassword },
  change_email: { schema: ChangeEmailFrame, run: changeEmail },
  confirm_email: { schema: ConfirmEmailFrame, run: confirmEmail },
  sessions: { schema: SessionsFrame, run: listSessions },
  revoke_session: { schema: RevokeSessionFrame, run: revokeSession },
  two_factor_setup: { schema: TwoFactorSetupFrame, run: setupTwoFactor },
  two_factor_enable: { schema: TwoFactorEnableFrame, run: enableTwoFactor },
  two_factor_disable: { schema: TwoFactorDisableFrame, run: disableTwoFactor },
  recovery_codes: { schema: RecoveryCodesFrame, run: regenerateRecoveryCodes },
  ...CONVERSATION_ACTIONS,
  directory: { schema: DirectoryFrame, run: directory },
  ...MODERATION_ACTIONS,
  set_profile: { schema: SetProfileFrame, run: setProfile },
  profiles: { schema: ProfilesFrame, run: profiles },
  avatars: { schema: AvatarsFrame, run: avatarUrls },
  delete_account: { schema: DeleteAccountFrame, run: deleteAccount },
  export_data: { schema: ExportFrame, run: exportData },
  // E22: blocks, reports, and the administrators' actions
  block: { schema: BlockFrame, run: block },
  unblock: { schema: UnblockFrame, run: unblock },
  blocks: { schema: BlocksFrame, run: listBlocks },
  report: { schema: ReportFrame, run: reportMessage },
  // E23: presence subscriptions
  watch: { schema: WatchFrame, run: watch },
  online_count: { schema: OnlineCountFrame, run: onlineCount },
  ...ADMINISTRATION_ACTIONS,
  // E25: away presence and Web Push
  activity: { schema: ActivityFrame, run: reportActivity },
  push_subscribe: { schema: PushSubscribeFrame, run: pushSubscribe },
  push_subscriptions: { schema: PushSubscriptionsFrame, run: listPushSubscriptions },
  push_unsubscribe: { schema: PushUnsubscribeFrame, run: pushUnsubscribe },
};

export const handler = messageRoute(DefaultFrame, async (deps, connectionId, frame) => {
  // `serverTime` lets a client hide disappearing messages by the server's clock.
  if (frame.action === 'ping') return { reply: { type: 'pong', serverTime: deps.clock.now().toISOString() } };
  // Own keys only: an action named "constructor" is unknown, not Object's.
  if (!Object.hasOwn(ACTIONS, frame.action)) throw new BadRequest(`Unknown action "${frame.action}".`);
  const { schema, run } = ACTIONS[frame.action]!;
  const parsed = v.safeParse(schema, frame);
  if (!parsed.success) throw new BadRequest(describeIssues(parsed.issues));
  return (run as (deps: Deps, connectionId: string, frame: unknown) => Promise<Outcome>)(deps, connectionId, parsed.output);
});
