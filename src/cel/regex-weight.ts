const COUNTED = /\{(\d+)(?:,(\d*))?\}/y;
/** A Unicode class (`\p{L}`) expands to hundreds of ranges in the compiled program. */
const UNICODE_CLASS = 32;

/**
 * An estimate of the size of the RE2 program a `matches` pattern compiles to, for the CEL budget: RE2 runs
 * in linear time, but compiling is proportional to the program, and a short pattern can expand a lot
 * (`a{1,1000}` is a thousand instructions, each `\p{L}` hundreds of ranges). Atoms count 1, a class 1 plus
 * 32 per Unicode class in it, a group the sum of its parts; a counted repetition multiplies what it repeats
 * by its largest count.
 */
export function regexWeight(p: string): number {
  const stack: number[] = [0];
  let last = 0;
  const add = (w: number) => {
    last = w;
    stack[stack.length - 1]! += w;
  };
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      const n = p[++i];
      if (n === 'p' || n === 'P') {
        if (p[i + 1] === '{') {
          const end = p.indexOf('}', i);
          i = end < 0 ? p.length : end;
        } else i++;
        add(UNICODE_CLASS);
      } else add(1);
    } else if (c === '[') {
      let w = 1;
      i++;
      if (p[i] === '^') i++;
      if (p[i] === ']') i++;
      while (i < p.length && p[i] !== ']') {
        if (p[i] === '\\') {
          if (p[i + 1] === 'p' || p[i + 1] === 'P') w += UNICODE_CLASS;
          i += 2;
        } else if (p[i] === '[' && p[i + 1] === ':') {
          const end = p.indexOf(':]', i);
          i = end < 0 ? p.length : end + 2;
          w += 4;
        } else i++;
      }
      add(w);
    } else if (c === '(') stack.push(0);
    else if (c === ')') add(stack.length > 1 ? stack.pop()! + 1 : 1);
    else if (c === '{') {
      COUNTED.lastIndex = i;
      const m = COUNTED.exec(p);
      if (m) {
        const n = Math.max(Number(m[1]), m[2] ? Number(m[2]) : 0, 1);
        stack[stack.length - 1]! += last * (n - 1);
        last *= n;
        i += m[0].length - 1;
      } else add(1);
    } else if (c === '*' || c === '+' || c === '?' || c === '|') stack[stack.length - 1]! += 1;
    else add(1);
  }
  return stack.reduce((a, b) => a + b, 0);
}
