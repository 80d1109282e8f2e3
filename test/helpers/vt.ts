// Just enough of a terminal to read what a person would see: the screen after a
// stream of output with the control sequences readline uses (carriage return,
// line feed, backspace, CSI cursor moves and erases, SGR). Anything else throws,
// so a test never passes by ignoring what it cannot draw.
export interface Screen {
  /** every row written so far, trailing spaces trimmed */
  rows: string[];
  cursor: { row: number; col: number };
  /** the row the cursor is on */
  currentRow: string;
}

export function render(output: string, columns = 100): Screen {
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  const line = () => (rows[row] ??= []);
  const ensure = (r: number) => {
    while (rows.length <= r) rows.push([]);
  };
  for (let i = 0; i < output.length; i++) {
    const ch = output[i]!;
    if (ch === '\r') col = 0;
    else if (ch === '\n') ensure(++row);
    else if (ch === '\b') col = Math.max(0, col - 1);
    else if (ch === '\x07') continue;
    else if (ch === '\x1b') {
      const csi = /^\x1b\[([?0-9;]*)([A-Za-z])/.exec(output.slice(i));
      if (!csi) throw new Error(`unsupported escape at ${i}: ${JSON.stringify(output.slice(i, i + 8))}`);
      i += csi[0].length - 1;
      const [n = 0] = csi[1]!.split(';').map((p) => (p === '' ? 0 : Number(p)));
      switch (csi[2]) {
        case 'K': // erase in line
          if (n === 0) line().length = Math.min(line().length, col);
          else if (n === 1) for (let c = 0; c <= col; c++) line()[c] = ' ';
          else rows[row] = [];
          break;
        case 'J': // erase in display
          if (n === 0) {
            line().length = Math.min(line().length, col);
            rows.length = row + 1;
          } else {
            rows.length = 0;
            ensure(row);
          }
          break;
        case 'G':
          col = Math.max(0, (n || 1) - 1);
          break;
        case 'A':
          row = Math.max(0, row - (n || 1));
          break;
        case 'B':
          ensure((row += n || 1));
          break;
        case 'C':
          col += n || 1;
          break;
        case 'D':
          col = Math.max(0, col - (n || 1));
          break;
        case 'm': // colours: not content
        case 'h':
        case 'l':
          break;
        default:
          throw new Error(`unsupported escape ${JSON.stringify(csi[0])}`);
      }
    } else if (ch < ' ' || ch === '\x7f') {
      throw new Error(`unsupported control character ${JSON.stringify(ch)} at ${i}`);
    } else {
      if (col >= columns) {
        col = 0;
        ensure(++row);
      }
      const l = line();
      while (l.length < col) l.push(' ');
      l[col++] = ch;
    }
  }
  const text = rows.map((r) => r.map((c) => c ?? ' ').join('').trimEnd());
  return { rows: text, cursor: { row, col }, currentRow: text[row] ?? '' };
}
