/** The first index of ascending `list` whose item is not below `value`: where `value` is, or would go. */
export function lowerBound<T extends number | string>(list: readonly T[], value: T): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (list[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
}
