// A person as the UI names them (E20): the display name with the username
// beside it, the username alone, or "deleted user". Text only, never markup.
import { useChat } from './context.js';

export function PersonName({ username, class: className }: { username: string; class?: string }) {
  const profiles = useChat().profiles;
  if (profiles.isDeleted(username)) return <span class={`${className ?? ''} person-deleted`.trim()}>deleted user</span>;
  const name = profiles.displayName(username);
  if (!name) return <span class={className}>{username}</span>;
  return (
    <span class={className}>
      <span class="display-name">{name}</span> <span class="handle">@{username}</span>
    </span>
  );
}
