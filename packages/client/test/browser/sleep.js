// Injected before the page's scripts in the "sleeping" tab: its Date can jump ahead, as after a
// laptop lid was closed. Timers keep real time; only the wall clock jumps.
(() => {
  const RealDate = Date;
  let skew = 0;
  function SkewedDate(...args) {
    if (!new.target) return new RealDate(RealDate.now() + skew).toString();
    return args.length > 0 ? new RealDate(...args) : new RealDate(RealDate.now() + skew);
  }
  SkewedDate.now = () => RealDate.now() + skew;
  SkewedDate.parse = RealDate.parse;
  SkewedDate.UTC = RealDate.UTC;
  SkewedDate.prototype = RealDate.prototype;
  globalThis.Date = SkewedDate;
  globalThis.sleepFor = (ms) => {
    skew += ms;
  };
})();
