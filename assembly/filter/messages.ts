// The lines the filter logs come from the templates of messages.json, so each can be found there as the user
// sees it. A template's placeholders ({path}, {value}, ...) are filled in order by `args`.

import { Msg, START, TEXT } from "./messages.generated";

export { Msg };

/** The template `id` with its placeholders replaced by `args` in order (a missing argument: nothing). */
export function message(id: Msg, args: string[] = []): string {
  const at = START + ((<usize>id) << 1);
  const end = TEXT + <usize>load<u16>(at, 2);
  let from = TEXT + <usize>load<u16>(at);
  let out = "";
  let next = 0;
  for (let pos = from; pos < end; pos++) {
    if (load<u8>(pos) != 0x7b /* { */) continue;
    out += String.UTF8.decodeUnsafe(from, pos - from);
    while (load<u8>(pos) != 0x7d /* } */) pos++; // scripts/messages.mjs checks that every "{" is closed
    if (next < args.length) out += unchecked(args[next]);
    next++;
    from = pos + 1;
  }
  return out + String.UTF8.decodeUnsafe(from, end - from);
}
