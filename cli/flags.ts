import { InvalidArgumentError } from 'commander';
import { parse as parseShellWords } from 'shell-quote';

/** Commander parsers whose errors name the flag and the value. */
export function wholeNumber(flag: string, minimum = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < minimum) {
      throw new InvalidArgumentError(`${flag} must be a whole number >= ${minimum}, got ${JSON.stringify(value)}`);
    }
    return n;
  };
}

/** Any whole number, negative ones too: a seed is a label, not a count. */
export function integer(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
      throw new InvalidArgumentError(`${flag} must be a whole number, got ${JSON.stringify(value)}`);
    }
    return n;
  };
}

/** A number such as `0.05` or `5e-4`, above zero (a learning rate). */
export function positiveNumber(flag: string) {
  return decimal(flag, '> 0', (n) => n > 0);
}

/** A number such as `0.3` or `5e-4`, zero allowed (a decay or a probability that may be off). */
export function nonNegativeNumber(flag: string) {
  return decimal(flag, '>= 0', (n) => n >= 0);
}

function decimal(flag: string, bound: string, accepts: (n: number) => boolean) {
  return (value: string): number => {
    const n = Number(value);
    // Number('') is 0: an empty value must not pass for zero.
    if (value.trim() === '' || !Number.isFinite(n) || !accepts(n)) {
      throw new InvalidArgumentError(`${flag} must be a number ${bound}, got ${JSON.stringify(value)}`);
    }
    return n;
  };
}

export function oneOf<T extends string>(flag: string, choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value))
      throw new InvalidArgumentError(`${flag} must be one of ${choices.join(', ')}, got ${JSON.stringify(value)}`);
    return value as T;
  };
}

export function identifier(flag: string) {
  return (value: string): string => {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$/.test(value)) {
      throw new InvalidArgumentError(
        `${flag} must be 1-80 letters, digits, '_', '.' or '-' starting with a letter or digit, got ${JSON.stringify(value)}`,
      );
    }
    return value;
  };
}

/**
 * A program and its arguments written as one shell-quoted string (`"python3 my trainer.py"`
 * needs quotes around the path). Pipes, redirections and variables are refused: the program
 * is started directly, with no shell.
 */
export function commandLine(flag: string) {
  return (value: string): string[] => {
    const words = parseShellWords(value, (name) => `$${name}`);
    const odd = words.find((word) => typeof word !== 'string' || word.includes('$'));
    if (words.length === 0 || odd !== undefined) {
      throw new InvalidArgumentError(
        `${flag} must be a program and its arguments, quoted as in a shell, without pipes, redirections or variables, got ${JSON.stringify(value)}`,
      );
    }
    return words as string[];
  };
}

/**
 * An error the user caused and can fix. main.ts prints it as one line (a stack trace only with
 * --debug) and exits 1, as it does for every error that is not commander's own.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
