/** Stroke paths (24×24, drawn with currentColor) for the few icons the console uses. */
export const ICON_PATHS = {
  dashboard: 'M4 4h7v7H4zM13 4h7v5h-7zM13 11h7v9h-7zM4 13h7v7H4z',
  connections: 'M9 3v4M15 3v4M6 7h12v3a6 6 0 0 1-12 0zM12 16v5',
  jobs: 'M4 8h13l-3-3M20 16H7l3 3',
  runs: 'M12 3a9 9 0 1 1 0 18a9 9 0 0 1 0-18zM12 7v5l3 2',
  settings: 'M4 6h16M4 12h16M4 18h16M15 4v4M8 10v4M17 16v4',
  check: 'M5 12.5l4.5 4.5L19 7',
  x: 'M6 6l12 12M18 6L6 18',
  alert: 'M12 3.5l9.5 16.5h-19zM12 10v4.5M12 17.2v.3',
  info: 'M12 3a9 9 0 1 1 0 18a9 9 0 0 1 0-18zM12 11v5.5M12 7.7v.3',
  minus: 'M6 12h12',
  running: 'M12 3a9 9 0 1 0 9 9',
  stop: 'M7 7h10v10H7z',
  pause: 'M9 5v14M15 5v14',
  play: 'M8 5l11 7-11 7z',
  plus: 'M12 5v14M5 12h14',
  edit: 'M4 20h4L19 9l-4-4L4 16zM13.5 6.5l4 4',
  trash: 'M4 7h16M10 7V4h4v3M6.5 7l1 13h9l1-13M10 11v6M14 11v6',
  refresh: 'M20 12a8 8 0 1 1-2.4-5.7M20 4v5h-5',
  download: 'M12 4v11M7 10l5 5 5-5M5 20h14',
  external: 'M14 4h6v6M20 4l-9 9M18 14v6H4V6h6',
  back: 'M15 5l-7 7 7 7',
  next: 'M9 5l7 7-7 7',
  key: 'M8 15a4 4 0 1 1 0-8a4 4 0 0 1 0 8zM12 11h9M18 11v3M21 11v2',
} as const;

export type IconName = keyof typeof ICON_PATHS;
