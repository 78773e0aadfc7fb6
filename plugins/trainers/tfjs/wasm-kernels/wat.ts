/**
 * WebAssembly text (SIMD) of the kernels that run directly on tfjs-backend-wasm's heap (see
 * heap.ts): windowed depthwise / pooling kernels, two matrix products (atb, ab), a strided copy
 * and column sums.
 *
 * Why generated rather than a hand-written .wat: the kernels walk channels (or matrix columns)
 * in several widths — 16 channels (four f32x4 registers, so the loop overhead is paid once per
 * 16 lanes), then 4 (one register), then 1 (scalar f32, for counts that are not a multiple of
 * 4) — and writing each body three times by hand invites copy errors. The helpers below emit
 * the same body for each width.
 *
 * Conventions: every pointer and stride is a byte offset into the imported memory (tfjs's own
 * heap); shapes are element counts; tensors are NHWC float32 and filters [KH, KW, C].
 * A loop over a count <= 0 runs no iteration, so empty ranges need no special case.
 */

interface Width {
  /** Bytes of channels one step covers. */
  readonly bytes: number;
  /** Number of registers (f32x4 or f32) per step. */
  readonly regs: number;
  readonly vector: boolean;
}

const W16: Width = { bytes: 64, regs: 4, vector: true };
const W4: Width = { bytes: 16, regs: 1, vector: true };
const W1: Width = { bytes: 4, regs: 1, vector: false };

const ld = (w: Width, addr: string, r: number): string =>
  w.vector ? `(v128.load offset=${16 * r} ${addr})` : `(f32.load ${addr})`;
const st = (w: Width, addr: string, r: number, value: string): string =>
  w.vector ? `(v128.store offset=${16 * r} ${addr} ${value})` : `(f32.store ${addr} ${value})`;
const add = (w: Width, a: string, b: string): string => `(${w.vector ? 'f32x4' : 'f32'}.add ${a} ${b})`;
const mul = (w: Width, a: string, b: string): string => `(${w.vector ? 'f32x4' : 'f32'}.mul ${a} ${b})`;
const zero = (w: Width): string => (w.vector ? '(v128.const i32x4 0 0 0 0)' : '(f32.const 0)');
/** Name of register r of width w: <name>v0..v3 are v128 locals, <name>s0 is an f32 local. */
const reg = (w: Width, name: string, r: number): string => `${name}${w.vector ? 'v' : 's'}${r}`;
const regLocals = (name: string): string =>
  [0, 1, 2, 3].map((r) => `(local $${name}v${r} v128)`).join(' ') + ` (local $${name}s0 f32)`;
const forRegs = (w: Width, f: (r: number) => string): string => Array.from({ length: w.regs }, (_, r) => f(r)).join('\n');

const get = (name: string): string => `(local.get $${name})`;
const set = (name: string, value: string): string => `(local.set $${name} ${value})`;
const i32 = (n: number): string => `(i32.const ${n})`;
const addI = (a: string, b: string): string => `(i32.add ${a} ${b})`;
const subI = (a: string, b: string): string => `(i32.sub ${a} ${b})`;
const mulI = (a: string, b: string): string => `(i32.mul ${a} ${b})`;
const inc = (name: string, by: string): string => set(name, addI(get(name), by));

let labels = 0;
/** for (name = 0; name < count; name++) body */
function forUp(name: string, count: string, body: string): string {
  const l = `L${labels++}`;
  return `${set(name, i32(0))}
(block $${l}_done (loop $${l}
  (br_if $${l}_done (i32.ge_s ${get(name)} ${count}))
  ${body}
  ${inc(name, i32(1))}
  (br $${l})))`;
}
/** Runs body `count` times using the counter local `name` (count may be <= 0: no iteration). */
function repeat(name: string, count: string, body: string): string {
  const l = `L${labels++}`;
  return `${set(name, count)}
(block $${l}_done (loop $${l}
  (br_if $${l}_done (i32.le_s ${get(name)} (i32.const 0)))
  ${body}
  ${set(name, subI(get(name), i32(1)))}
  (br $${l})))`;
}
/**
 * Walks the channel byte offset `cb` from 0 to `cBytes` in steps of 16, then 4, then 1 channel,
 * emitting `body(width)` for each step.
 */
function channelBlocks(cBytes: string, body: (w: Width) => string, widths: readonly Width[] = [W16, W4, W1]): string {
  return widths
    .map((w) => {
      const l = `L${labels++}`;
      return `(block $${l}_done (loop $${l}
  (br_if $${l}_done (i32.gt_s ${addI(get('cb'), i32(w.bytes))} ${cBytes}))
  ${body(w)}
  ${inc('cb', i32(w.bytes))}
  (br $${l})))`;
    })
    .join('\n');
}

/** Parameters shared by the windowed kernels: input [N,H,W,C], output [N,OH,OW,C], window KH×KW. */
const windowParams = `(param $N i32) (param $H i32) (param $W i32) (param $C i32) (param $OH i32) (param $OW i32)
  (param $KH i32) (param $KW i32) (param $sh i32) (param $sw i32) (param $dh i32) (param $dw i32)
  (param $pt i32) (param $pl i32)`;
const windowLocals = `(local $pix i32) (local $row i32) (local $img i32) (local $tapRow i32) (local $tapCol i32)
  (local $n i32) (local $oh i32) (local $ow i32) (local $a i32) (local $b i32)
  (local $khLo i32) (local $nkh i32) (local $kwLo i32) (local $nkw i32) (local $cb i32)
  (local $i i32) (local $j i32) (local $x0 i32) (local $w0 i32) (local $xr i32) (local $wr i32)
  (local $xp i32) (local $wp i32) (local $o i32)`;
const windowSetup = `${set('pix', mulI(get('C'), i32(4)))}
  ${set('row', mulI(get('W'), get('pix')))}
  ${set('img', mulI(get('H'), get('row')))}
  ${set('tapRow', mulI(get('dh'), get('row')))}
  ${set('tapCol', mulI(get('dw'), get('pix')))}`;

/**
 * Loops over every output pixel (n, oh, ow) of a window op and finds the taps (kh, kw) whose
 * input pixel (oh*sh + kh*dh - pt, ow*sw + kw*dw - pl) lies inside the input: khLo/nkh and
 * kwLo/nkw, so the inner loops need no bounds checks. $x0 is the input address of the first
 * valid tap (channel 0), $w0 the filter address of that tap (filter strides $wsh/$wsw, when the
 * kernel has a filter). `perPixel` runs once per output pixel; `$o` walks the output pixels.
 */
function forEachWindow(input: string, hasFilter: boolean, perPixel: string): string {
  return forUp(
    'n',
    get('N'),
    forUp(
      'oh',
      get('OH'),
      `${set('a', subI(mulI(get('oh'), get('sh')), get('pt')))}
      ${set('khLo', `(call $lo (i32.sub (i32.const 0) ${get('a')}) ${get('dh')})`)}
      ${set('nkh', subI(`(call $hi ${subI(subI(get('H'), i32(1)), get('a'))} ${get('dh')} ${get('KH')})`, get('khLo')))}
      ${forUp(
        'ow',
        get('OW'),
        `${set('b', subI(mulI(get('ow'), get('sw')), get('pl')))}
        ${set('kwLo', `(call $lo (i32.sub (i32.const 0) ${get('b')}) ${get('dw')})`)}
        ${set('nkw', subI(`(call $hi ${subI(subI(get('W'), i32(1)), get('b'))} ${get('dw')} ${get('KW')})`, get('kwLo')))}
        ${set(
          'x0',
          addI(
            addI(get(input), mulI(get('n'), get('img'))),
            addI(
              mulI(addI(get('a'), mulI(get('khLo'), get('dh'))), get('row')),
              mulI(addI(get('b'), mulI(get('kwLo'), get('dw'))), get('pix')),
            ),
          ),
        )}
        ${hasFilter ? set('w0', addI(get('w'), addI(mulI(get('khLo'), get('wsh')), mulI(get('kwLo'), get('wsw'))))) : ''}
        ${set('cb', i32(0))}
        ${perPixel}
        ${inc('o', get('pix'))}`,
      )}`,
    ),
  );
}

/** Runs `tap` for every valid tap of the current pixel, with $xp (and $wp) at the tap + $cb. */
function forEachTap(hasFilter: boolean, tap: string): string {
  return `${set('xr', addI(get('x0'), get('cb')))}
  ${hasFilter ? set('wr', addI(get('w0'), get('cb'))) : ''}
  ${repeat(
    'i',
    get('nkh'),
    `${set('xp', get('xr'))}
    ${hasFilter ? set('wp', get('wr')) : ''}
    ${repeat('j', get('nkw'), `${tap}\n${inc('xp', get('tapCol'))}\n${hasFilter ? inc('wp', get('wsw')) : ''}`)}
    ${inc('xr', get('tapRow'))}
    ${hasFilter ? inc('wr', get('wsh')) : ''}`,
  )}`;
}

/**
 * Depthwise correlation, channel multiplier 1:
 *   y[n,oh,ow,c] = Σ_{kh,kw} x[n, oh*sh + kh*dh - pt, ow*sw + kw*dw - pl, c] · w[kh,kw,c]
 * with out-of-range input pixels counting as zero. The filter is addressed through byte strides
 * ($wsh, $wsw, channel stride 4), so a negative stride reads it flipped: that makes the same
 * kernel the stride-1 input gradient (correlation of dy with the 180°-rotated filter).
 * Accumulates each output pixel in registers over all its taps.
 *
 * (Tried: a variant compiled per shape at first use, with every tap offset an immediate and
 * four output pixels sharing each filter load — half the instructions — ran only ~12% faster
 * on 64×28×28×32: at these sizes the kernel is mostly bound by memory traffic, ~2.7 ms for
 * 12.8 MB in and out against ~1.3 ms for an elementwise add. Not worth the compiler at runtime.)
 */
const dwForward = `(func (export "dw_forward")
  (param $x i32) (param $w i32) (param $y i32) ${windowParams} (param $wsh i32) (param $wsw i32)
  ${windowLocals} ${regLocals('acc')}
  ${windowSetup}
  ${set('o', get('y'))}
  ${forEachWindow(
    'x',
    true,
    channelBlocks(get('pix'), (w) =>
      [
        forRegs(w, (r) => set(reg(w, 'acc', r), zero(w))),
        forEachTap(
          true,
          forRegs(w, (r) =>
            set(reg(w, 'acc', r), add(w, get(reg(w, 'acc', r)), mul(w, ld(w, get('xp'), r), ld(w, get('wp'), r)))),
          ),
        ),
        forRegs(w, (r) => st(w, addI(get('o'), get('cb')), r, get(reg(w, 'acc', r)))),
      ].join('\n'),
    ),
  )})`;

/**
 * Transposed depthwise correlation (scatter), channel multiplier 1: for every dy pixel and tap,
 *   dx[n, oh*sh + kh*dh - pt, ow*sw + kw*dw - pl, c] += dy[n,oh,ow,c] · w[kh,kw,c]
 * dx must be zeroed first. This is the input gradient for strides > 1, where the gather form
 * would need a parity test per tap.
 */
const dwScatter = `(func (export "dw_scatter")
  (param $dy i32) (param $w i32) (param $x i32) ${windowParams} (param $wsh i32) (param $wsw i32)
  ${windowLocals} ${regLocals('g')}
  ${windowSetup}
  ${set('o', get('dy'))}
  ${forEachWindow(
    'x',
    true,
    channelBlocks(get('pix'), (w) =>
      [
        forRegs(w, (r) => set(reg(w, 'g', r), ld(w, addI(get('o'), get('cb')), r))),
        forEachTap(
          true,
          forRegs(w, (r) => st(w, get('xp'), r, add(w, ld(w, get('xp'), r), mul(w, get(reg(w, 'g', r)), ld(w, get('wp'), r))))),
        ),
      ].join('\n'),
    ),
  )})`;

/**
 * Average-pool input gradient as tfjs defines it (every window weighs 1/(KH·KW), also where
 * the window hangs over the border): dx[window of (oh,ow)] += dy[oh,ow] · mult. dx zeroed first.
 */
const avgPoolGrad = `(func (export "avg_pool_grad")
  (param $dy i32) (param $x i32) ${windowParams} (param $mult f32)
  ${windowLocals} ${regLocals('g')} (local $m v128)
  ${windowSetup}
  ${set('m', '(f32x4.splat (local.get $mult))')}
  ${set('o', get('dy'))}
  ${forEachWindow(
    'x',
    false,
    channelBlocks(get('pix'), (w) =>
      [
        forRegs(w, (r) => set(reg(w, 'g', r), mul(w, ld(w, addI(get('o'), get('cb')), r), w.vector ? get('m') : get('mult')))),
        forEachTap(
          false,
          forRegs(w, (r) => st(w, get('xp'), r, add(w, ld(w, get('xp'), r), get(reg(w, 'g', r))))),
        ),
      ].join('\n'),
    ),
  )})`;

/**
 * Max-pool input gradient: each dy[n,oh,ow,c] goes to the first (row-major) position of the
 * window maximum of x, the tie rule of tfjs's cpu kernel (strict >, so NaN never wins and a
 * window of -Infinity passes nothing). Finds the argmax four channels at a time with
 * compare + bitselect, keeping the byte offset of the winner per lane; dx zeroed first.
 */
const maxPoolGrad = `(func (export "max_pool_grad")
  (param $x i32) (param $dy i32) (param $dx i32) ${windowParams}
  ${windowLocals} (local $best v128) (local $pos v128) (local $v v128) (local $m v128) (local $g v128)
  (local $bests f32) (local $poss i32) (local $vs f32) (local $p i32)
  ${windowSetup}
  ${set('o', get('dy'))}
  ${forEachWindow(
    'x',
    false,
    channelBlocks(
      get('pix'),
      (w) => {
        if (w.vector) {
          const lane = (l: number): string => `${set('p', `(i32x4.extract_lane ${l} ${get('pos')})`)}
          (if (i32.ge_s ${get('p')} (i32.const 0)) (then
            ${set('p', addI(get('dx'), get('p')))}
            (f32.store ${get('p')} (f32.add (f32.load ${get('p')}) (f32x4.extract_lane ${l} ${get('g')})))))`;
          return `${set('best', '(v128.const f32x4 -inf -inf -inf -inf)')}
          ${set('pos', '(v128.const i32x4 -1 -1 -1 -1)')}
          ${forEachTap(
            false,
            `${set('v', '(v128.load (local.get $xp))')}
            ${set('m', '(f32x4.gt (local.get $v) (local.get $best))')}
            ${set('best', '(v128.bitselect (local.get $v) (local.get $best) (local.get $m))')}
            ${set('pos', `(v128.bitselect (i32x4.add (i32x4.splat ${subI(get('xp'), get('x'))}) (v128.const i32x4 0 4 8 12)) (local.get $pos) (local.get $m))`)}`,
          )}
          ${set('g', `(v128.load ${addI(get('o'), get('cb'))})`)}
          ${[0, 1, 2, 3].map(lane).join('\n')}`;
        }
        return `${set('bests', '(f32.const -inf)')}
        ${set('poss', i32(-1))}
        ${forEachTap(
          false,
          `${set('vs', '(f32.load (local.get $xp))')}
          (if (f32.gt (local.get $vs) (local.get $bests)) (then
            ${set('bests', get('vs'))}
            ${set('poss', subI(get('xp'), get('x')))}))`,
        )}
        (if (i32.ge_s ${get('poss')} (i32.const 0)) (then
          ${set('p', addI(get('dx'), get('poss')))}
          (f32.store ${get('p')} (f32.add (f32.load ${get('p')}) (f32.load ${addI(get('o'), get('cb'))})))))`;
      },
      // Four lanes at a time: a 16-wide step would need 8 more registers for little gain here.
      [W4, W1],
    ),
  )})`;

/**
 * Depthwise filter gradient, channel multiplier 1, accumulated into acc[KH,KW,C] (zeroed first):
 *   acc[kh,kw,c] += Σ_{n,oh,ow} x[n, oh*sh + kh*dh - pt, ow*sw + kw*dw - pl, c] · dy[n,oh,ow,c]
 * Loop order n, oh, kh, kw, channel block, ow: the inner loop runs along one dy row and one
 * x row (both in L1), summing in registers, and touches acc once per row — a partial sum per
 * row also keeps the float32 rounding error small over large batches.
 */
const dwFilterGrad = `(func (export "dw_filter_grad")
  (param $x i32) (param $dy i32) (param $acc i32) ${windowParams}
  ${windowLocals} ${regLocals('s')} (local $khHi i32) (local $kh i32) (local $kw i32) (local $e i32) (local $owLo i32) (local $cnt i32)
  (local $xRow i32) (local $dyRow i32) (local $xs i32) (local $ds i32) (local $ap i32) (local $stepX i32) (local $dp i32)
  ${windowSetup}
  ${set('stepX', mulI(get('sw'), get('pix')))}
  ${forUp(
    'n',
    get('N'),
    forUp(
      'oh',
      get('OH'),
      `${set('a', subI(mulI(get('oh'), get('sh')), get('pt')))}
      ${set('khLo', `(call $lo (i32.sub (i32.const 0) ${get('a')}) ${get('dh')})`)}
      ${set('khHi', `(call $hi ${subI(subI(get('H'), i32(1)), get('a'))} ${get('dh')} ${get('KH')})`)}
      ${set('dyRow', addI(get('dy'), mulI(mulI(addI(mulI(get('n'), get('OH')), get('oh')), get('OW')), get('pix'))))}
      ${set('kh', get('khLo'))}
      (block $khDone (loop $khLoop
        (br_if $khDone (i32.ge_s ${get('kh')} ${get('khHi')}))
        ${set('xRow', addI(addI(get('x'), mulI(get('n'), get('img'))), mulI(addI(get('a'), mulI(get('kh'), get('dh'))), get('row'))))}
        ${forUp(
          'kw',
          get('KW'),
          `${set('e', subI(mulI(get('kw'), get('dw')), get('pl')))}
          ${set('owLo', `(call $lo (i32.sub (i32.const 0) ${get('e')}) ${get('sw')})`)}
          ${set('cnt', subI(`(call $hi ${subI(subI(get('W'), i32(1)), get('e'))} ${get('sw')} ${get('OW')})`, get('owLo')))}
          (if (i32.gt_s ${get('cnt')} (i32.const 0)) (then
            ${set('xs', addI(get('xRow'), mulI(addI(mulI(get('owLo'), get('sw')), get('e')), get('pix'))))}
            ${set('ds', addI(get('dyRow'), mulI(get('owLo'), get('pix'))))}
            ${set('ap', addI(get('acc'), mulI(addI(mulI(get('kh'), get('KW')), get('kw')), get('pix'))))}
            ${set('cb', i32(0))}
            ${channelBlocks(get('pix'), (w) =>
              [
                forRegs(w, (r) => set(reg(w, 's', r), zero(w))),
                set('xp', addI(get('xs'), get('cb'))),
                set('dp', addI(get('ds'), get('cb'))),
                repeat(
                  'j',
                  get('cnt'),
                  `${forRegs(w, (r) =>
                    set(reg(w, 's', r), add(w, get(reg(w, 's', r)), mul(w, ld(w, get('xp'), r), ld(w, get('dp'), r)))),
                  )}
                  ${inc('xp', get('stepX'))}
                  ${inc('dp', get('pix'))}`,
                ),
                forRegs(w, (r) =>
                  st(w, addI(get('ap'), get('cb')), r, add(w, ld(w, addI(get('ap'), get('cb')), r), get(reg(w, 's', r)))),
                ),
              ].join('\n'),
            )}))`,
        )}
        ${inc('kh', i32(1))}
        (br $khLoop)))`,
    ),
  )})`;

/**
 * Strided copy of a 4-d box: dst[i0,i1,i2,i3] = src[i0,i1,i2,i3] with independent (signed,
 * byte) strides on both sides. Serves as transpose, crop, zero-insertion (dilate), padding
 * (copy into a zeroed, larger box) and filter flip (negative strides). The caller orders the
 * axes so that the innermost one is contiguous on at least one side; when it is contiguous on
 * both it is one memory.copy.
 */
const copy4 = `(func (export "copy4")
  (param $src i32) (param $dst i32) (param $n0 i32) (param $n1 i32) (param $n2 i32) (param $n3 i32)
  (param $s0 i32) (param $s1 i32) (param $s2 i32) (param $s3 i32)
  (param $t0 i32) (param $t1 i32) (param $t2 i32) (param $t3 i32)
  (local $i0 i32) (local $i1 i32) (local $i2 i32) (local $i3 i32)
  (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $b0 i32) (local $b1 i32) (local $b2 i32)
  (local $p i32) (local $q i32) (local $contiguous i32) (local $bytes i32)
  ${set('contiguous', '(i32.and (i32.eq (local.get $s3) (i32.const 4)) (i32.eq (local.get $t3) (i32.const 4)))')}
  ${set('bytes', mulI(get('n3'), i32(4)))}
  ${set('a0', get('src'))} ${set('b0', get('dst'))}
  ${repeat(
    'i0',
    get('n0'),
    `${set('a1', get('a0'))} ${set('b1', get('b0'))}
    ${repeat(
      'i1',
      get('n1'),
      `${set('a2', get('a1'))} ${set('b2', get('b1'))}
      ${repeat(
        'i2',
        get('n2'),
        `(if ${get('contiguous')}
          (then (memory.copy ${get('b2')} ${get('a2')} ${get('bytes')}))
          (else
            ${set('p', get('a2'))} ${set('q', get('b2'))}
            ${repeat('i3', get('n3'), `(f32.store ${get('q')} (f32.load ${get('p')})) ${inc('p', get('s3'))} ${inc('q', get('t3'))}`)}))
        ${inc('a2', get('s2'))} ${inc('b2', get('t2'))}`,
      )}
      ${inc('a1', get('s1'))} ${inc('b1', get('t1'))}`,
    )}
    ${inc('a0', get('s0'))} ${inc('b0', get('t0'))}`,
  )})`;

/**
 * Column sums of a row-major [R, C] matrix, scaled: out[c] = scale · Σ_r x[r, c] — a reduction
 * over leading axes without the transpose tfjs-backend-wasm's Sum and Mean do first. Rows are
 * summed in chunks of 64 into a partial, then into the total, which bounds float32 rounding
 * growth over long columns.
 */
const colSum = `(func (export "col_sum")
  (param $x i32) (param $out i32) (param $R i32) (param $C i32) (param $scale f32)
  (local $pix i32) (local $cb i32) (local $r i32) (local $chunk i32) (local $j i32) (local $xp i32) (local $k v128)
  ${regLocals('t')} ${regLocals('s')}
  ${set('pix', mulI(get('C'), i32(4)))}
  ${set('k', '(f32x4.splat (local.get $scale))')}
  ${set('cb', i32(0))}
  ${channelBlocks(get('pix'), (w) =>
    [
      forRegs(w, (r) => set(reg(w, 't', r), zero(w))),
      set('xp', addI(get('x'), get('cb'))),
      set('r', get('R')),
      `(block $rowsDone (loop $rows
        (br_if $rowsDone (i32.le_s ${get('r')} (i32.const 0)))
        ${set('chunk', `(select ${get('r')} ${i32(64)} (i32.lt_s ${get('r')} ${i32(64)}))`)}
        ${set('r', subI(get('r'), get('chunk')))}
        ${forRegs(w, (r) => set(reg(w, 's', r), zero(w)))}
        ${repeat(
          'j',
          get('chunk'),
          `${forRegs(w, (r) => set(reg(w, 's', r), add(w, get(reg(w, 's', r)), ld(w, get('xp'), r))))}
          ${inc('xp', get('pix'))}`,
        )}
        ${forRegs(w, (r) => set(reg(w, 't', r), add(w, get(reg(w, 't', r)), get(reg(w, 's', r)))))}
        (br $rows)))`,
      forRegs(w, (r) => st(w, addI(get('out'), get('cb')), r, mul(w, get(reg(w, 't', r)), w.vector ? get('k') : get('scale')))),
    ].join('\n'),
  )})`;

/**
 * out[m, n] += Σ_p a[p, m] · b[p, n] for row-major a [P, M] and b [P, N] — a product that
 * contracts the long pixel axis, e.g. a conv filter gradient xᵀ·dy. XNNPACK's matrix product
 * would repack its right operand, a full [P, N] activation, on every call (its operator cache
 * is keyed by that operand's tensor); this reads both operands in place.
 * Tiles of 4 rows of out × 8 columns (8 f32x4 accumulators, a's four values splatted), then
 * narrower tiles for the remainders; P is walked in chunks of 128 rows, so that one chunk of a
 * and b stays in L1/L2 while every tile of out passes over it, and each tile adds its chunk's
 * partial sums into out (which also keeps float32 rounding growth small).
 */
function atbTile(rows: number, w: Width, vecs: number): string {
  // Register names: vector ones for 4-wide columns, f32 ones ("s" suffix) for single columns.
  const sfx = w.vector ? '' : 's';
  const acc = (r: number, k: number) => `t${sfx}${r}_${k}`;
  const aReg = (r: number) => `a${sfx}${r}`;
  const bReg = (k: number) => `b${sfx}${k}`;
  const text: string[] = [];
  for (let r = 0; r < rows; r++) for (let k = 0; k < vecs; k++) text.push(set(acc(r, k), zero(w)));
  text.push(set('ap', addI(get('aChunk'), mulI(get('m'), i32(4)))));
  text.push(set('bp', addI(get('bChunk'), get('nb'))));
  const step: string[] = [];
  for (let r = 0; r < rows; r++) {
    step.push(
      set(aReg(r), w.vector ? `(v128.load32_splat offset=${4 * r} ${get('ap')})` : `(f32.load offset=${4 * r} ${get('ap')})`),
    );
  }
  for (let k = 0; k < vecs; k++) step.push(set(bReg(k), ld(w, get('bp'), k)));
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < vecs; k++) step.push(set(acc(r, k), add(w, get(acc(r, k)), mul(w, get(aReg(r)), get(bReg(k))))));
  }
  step.push(inc('ap', get('rowA')), inc('bp', get('rowB')));
  text.push(repeat('j', get('pc'), step.join('\n')));
  for (let r = 0; r < rows; r++) {
    const at = addI(get('out'), addI(mulI(addI(get('m'), i32(r)), get('rowB')), get('nb')));
    for (let k = 0; k < vecs; k++) text.push(st(w, at, k, add(w, ld(w, at, k), get(acc(r, k)))));
  }
  return text.join('\n');
}
function atbRows(rows: number): string {
  const nBlock = (bytes: number, w: Width, vecs: number) => {
    const l = `L${labels++}`;
    return `(block $${l}_done (loop $${l}
      (br_if $${l}_done (i32.gt_s ${addI(get('nb'), i32(bytes))} ${get('rowB')}))
      ${atbTile(rows, w, vecs)}
      ${inc('nb', i32(bytes))}
      (br $${l})))`;
  };
  return `${set('nb', i32(0))}
    ${nBlock(32, W4, 2)}
    ${nBlock(16, W4, 1)}
    ${nBlock(4, W1, 1)}`;
}
const atbLocals = (): string => {
  const l: string[] = [];
  for (let r = 0; r < 4; r++) for (let k = 0; k < 2; k++) l.push(`(local $t${r}_${k} v128) (local $ts${r}_${k} f32)`);
  for (let r = 0; r < 4; r++) l.push(`(local $a${r} v128) (local $as${r} f32)`);
  for (let k = 0; k < 2; k++) l.push(`(local $b${k} v128) (local $bs${k} f32)`);
  return l.join(' ');
};
const atb = `(func (export "atb")
  (param $a i32) (param $b i32) (param $out i32) (param $P i32) (param $M i32) (param $N i32)
  (local $rowA i32) (local $rowB i32) (local $p0 i32) (local $pc i32) (local $m i32) (local $nb i32)
  (local $aChunk i32) (local $bChunk i32) (local $ap i32) (local $bp i32) (local $j i32)
  ${atbLocals()}
  ${set('rowA', mulI(get('M'), i32(4)))}
  ${set('rowB', mulI(get('N'), i32(4)))}
  ${set('p0', i32(0))}
  (block $chunksDone (loop $chunks
    (br_if $chunksDone (i32.ge_s ${get('p0')} ${get('P')}))
    ${set('pc', subI(get('P'), get('p0')))}
    ${set('pc', `(select ${get('pc')} ${i32(128)} (i32.lt_s ${get('pc')} ${i32(128)}))`)}
    ${set('aChunk', addI(get('a'), mulI(get('p0'), get('rowA'))))}
    ${set('bChunk', addI(get('b'), mulI(get('p0'), get('rowB'))))}
    ${set('m', i32(0))}
    (block $m4Done (loop $m4
      (br_if $m4Done (i32.gt_s ${addI(get('m'), i32(4))} ${get('M')}))
      ${atbRows(4)}
      ${inc('m', i32(4))}
      (br $m4)))
    (block $m1Done (loop $m1
      (br_if $m1Done (i32.ge_s ${get('m')} ${get('M')}))
      ${atbRows(1)}
      ${inc('m', i32(1))}
      (br $m1)))
    ${inc('p0', get('pc'))}
    (br $chunks)))
  )`;

/**
 * out[p, n] = act(Σ_k a[p, k] · b[k, n] + bias[n]) for row-major a [P, K], b [K, N], with b
 * small (a 1×1 filter): the product of 1×1 convolutions and of their input gradient, ~1.7× the
 * speed of XNNPACK's matrix product in tfjs-backend-wasm here (which repacks b on every call;
 * 23 against 13 GFLOP/s for 50176×32×32). Tiles of 4 rows × 8 columns as in atb; b stays in L1.
 * $bias is 0 for none; $relu != 0 applies max(·, 0).
 */
function abTile(rows: number, w: Width, vecs: number): string {
  const sfx = w.vector ? '' : 's';
  const acc = (r: number, k: number) => `t${sfx}${r}_${k}`;
  const aReg = (r: number) => `a${sfx}${r}`;
  const bReg = (k: number) => `b${sfx}${k}`;
  const text: string[] = [];
  for (let r = 0; r < rows; r++) for (let k = 0; k < vecs; k++) text.push(set(acc(r, k), zero(w)));
  for (let r = 0; r < rows; r++) text.push(set(`ap${r}`, addI(get('a'), mulI(addI(get('p'), i32(r)), get('rowA')))));
  text.push(set('bp', addI(get('b'), get('nb'))));
  const step: string[] = [];
  for (let r = 0; r < rows; r++) {
    step.push(set(aReg(r), w.vector ? `(v128.load32_splat ${get(`ap${r}`)})` : `(f32.load ${get(`ap${r}`)})`));
    step.push(inc(`ap${r}`, i32(4)));
  }
  for (let k = 0; k < vecs; k++) step.push(set(bReg(k), ld(w, get('bp'), k)));
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < vecs; k++) step.push(set(acc(r, k), add(w, get(acc(r, k)), mul(w, get(aReg(r)), get(bReg(k))))));
  }
  step.push(inc('bp', get('rowB')));
  text.push(repeat('j', get('K'), step.join('\n')));
  // Epilogue: + bias[n] when $bias is not 0, then max(·, 0) when $relu is not 0.
  const biasReg = (k: number) => `b${sfx}${k}`;
  text.push(`(if ${get('bias')} (then
    ${Array.from({ length: vecs }, (_, k) => set(biasReg(k), ld(w, addI(get('bias'), get('nb')), k))).join('\n')}
    ${Array.from({ length: rows * vecs }, (_, i) => set(acc(Math.floor(i / vecs), i % vecs), add(w, get(acc(Math.floor(i / vecs), i % vecs)), get(biasReg(i % vecs))))).join('\n')}))`);
  text.push(`(if ${get('relu')} (then
    ${Array.from({ length: rows * vecs }, (_, i) => {
      const name = acc(Math.floor(i / vecs), i % vecs);
      return set(name, w.vector ? `(f32x4.max ${get(name)} (v128.const i32x4 0 0 0 0))` : `(f32.max ${get(name)} (f32.const 0))`);
    }).join('\n')}))`);
  for (let r = 0; r < rows; r++) {
    const at = addI(get('out'), addI(mulI(addI(get('p'), i32(r)), get('rowB')), get('nb')));
    for (let k = 0; k < vecs; k++) text.push(st(w, at, k, get(acc(r, k))));
  }
  return text.join('\n');
}
function abRows(rows: number): string {
  const nBlock = (bytes: number, w: Width, vecs: number) => {
    const l = `L${labels++}`;
    return `(block $${l}_done (loop $${l}
      (br_if $${l}_done (i32.gt_s ${addI(get('nb'), i32(bytes))} ${get('rowB')}))
      ${abTile(rows, w, vecs)}
      ${inc('nb', i32(bytes))}
      (br $${l})))`;
  };
  return `${set('nb', i32(0))}
    ${nBlock(32, W4, 2)}
    ${nBlock(16, W4, 1)}
    ${nBlock(4, W1, 1)}`;
}
const ab = `(func (export "ab")
  (param $a i32) (param $b i32) (param $out i32) (param $P i32) (param $K i32) (param $N i32) (param $bias i32) (param $relu i32)
  (local $rowA i32) (local $rowB i32) (local $p i32) (local $nb i32) (local $bp i32) (local $j i32)
  (local $ap0 i32) (local $ap1 i32) (local $ap2 i32) (local $ap3 i32)
  ${atbLocals()}
  ${set('rowA', mulI(get('K'), i32(4)))}
  ${set('rowB', mulI(get('N'), i32(4)))}
  ${set('p', i32(0))}
  (block $p4Done (loop $p4
    (br_if $p4Done (i32.gt_s ${addI(get('p'), i32(4))} ${get('P')}))
    ${abRows(4)}
    ${inc('p', i32(4))}
    (br $p4)))
  (block $p1Done (loop $p1
    (br_if $p1Done (i32.ge_s ${get('p')} ${get('P')}))
    ${abRows(1)}
    ${inc('p', i32(1))}
    (br $p1)))
  )`;

export const kernelsWat = `(module
  (import "env" "memory" (memory 1))

  ;; First tap index k >= 0 with num <= k*d, i.e. ceil(num / d) clamped at 0. (The division is
  ;; skipped for d = 1, the common case: it is called per output pixel.)
  (func $lo (param $num i32) (param $d i32) (result i32)
    (if (result i32) (i32.le_s (local.get $num) (i32.const 0))
      (then (i32.const 0))
      (else (if (result i32) (i32.eq (local.get $d) (i32.const 1))
        (then (local.get $num))
        (else (i32.div_u (i32.add (local.get $num) (i32.sub (local.get $d) (i32.const 1))) (local.get $d)))))))
  ;; One past the last tap index k with k*d <= num, clamped to [0, k]: min(k, floor(num / d) + 1).
  (func $hi (param $num i32) (param $d i32) (param $k i32) (result i32)
    (local $h i32)
    (if (result i32) (i32.lt_s (local.get $num) (i32.const 0))
      (then (i32.const 0))
      (else
        (local.set $h (i32.add
          (if (result i32) (i32.eq (local.get $d) (i32.const 1)) (then (local.get $num)) (else (i32.div_u (local.get $num) (local.get $d))))
          (i32.const 1)))
        (select (local.get $h) (local.get $k) (i32.lt_s (local.get $h) (local.get $k))))))

${dwForward}
${dwScatter}
${avgPoolGrad}
${maxPoolGrad}
${dwFilterGrad}
${copy4}
${colSum}
${atb}
${ab}
)`;
