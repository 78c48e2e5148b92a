// Decimal text of a count, for log lines and error messages. i32.toString() would do, but it links
// every radix and ~1.6 KB of digit tables into the module; this is the 10-line version.

export function decimal(value: u32): string {
  let digits: i32 = 1;
  for (let rest = value / 10; rest != 0; rest /= 10) digits++;
  const text = changetype<string>(__new((<usize>digits) << 1, idof<String>()));
  for (let i = digits - 1; i >= 0; i--) {
    store<u16>(changetype<usize>(text) + ((<usize>i) << 1), <u16>(0x30 + (value % 10)));
    value /= 10;
  }
  return text;
}
