<?php
// laravel_bs.php - Laravel 8's default "sendmail" mailer driving outbox.
// For tests/bs-clients.bats; uses Debian's php-laravel-framework (8.83, whose
// mail layer is Swift Mailer 6 from php-swiftmailer), nothing vendored.
//
// The mailer is built the way a Laravel application builds it: an
// Illuminate\Foundation\Application with the framework's View and Mail
// service providers and a config repository holding the "mail" settings of
// Laravel's config/mail.php, only the sendmail path changed from
// "/usr/sbin/sendmail -bs -i" (older skeletons say "-bs" alone, which this
// covers too) to outbox's.  MailManager turns that into a
// Swift_SendmailTransport in -bs mode (SMTP on the command's stdin/stdout).
// Note that Laravel 8 stops the transport after every message
// (Mailer::forceReconnection), so each message is one outbox process.
//
// usage: php laravel_bs.php OUTBOX CONFIG STATUSFILE <MESSAGES.json
//   The sendmail path is "OUTBOX -C CONFIG -bs -i" (paths shell-quoted),
//   followed by "; echo $? >>STATUSFILE" (one line per outbox process)
//   because Swift Mailer reads no exit status in -bs mode.
//   MESSAGES.json: [{"from": A, "to": [B, ...], "subject": S, "text": T}, ...]
// Output (stdout), one line per message:
//   "sent N failures=[ADDR,...]" (Mail::failures(): recipients
//   the server refused at RCPT), or "failed N code=C CLASS: MESSAGE",
//   then "outbox-exit S S ..." (each process's status, in order).
// Exit: 0 all sent with no failures, 1 otherwise, 2 usage or unexpected error.

require_once 'Illuminate/autoload.php';

use Illuminate\Config\Repository;
use Illuminate\Foundation\Application;

if ($argc !== 4) {
    fwrite(STDERR, "usage: php laravel_bs.php OUTBOX CONFIG STATUSFILE <MESSAGES.json\n");
    exit(2);
}
[, $outbox, $config, $statusFile] = $argv;
$messages = json_decode(stream_get_contents(STDIN), true, 16, JSON_THROW_ON_ERROR);

$path = escapeshellarg($outbox).' -C '.escapeshellarg($config).' -bs -i';
fwrite(STDERR, "sendmail path: $path\n");
$record = '; echo $? >>'.escapeshellarg($statusFile);

$app = new Application(sys_get_temp_dir());
$app->instance('config', new Repository([
    'app' => ['name' => 'outbox-test', 'env' => 'testing', 'debug' => false],
    'view' => ['paths' => [], 'compiled' => sys_get_temp_dir()],
    'mail' => [
        'default' => 'sendmail',
        'mailers' => [
            'sendmail' => ['transport' => 'sendmail', 'path' => $path.$record],
        ],
        'from' => ['address' => 'hello@example.com', 'name' => 'Example'],
    ],
]));
$app->register(Illuminate\Filesystem\FilesystemServiceProvider::class);
$app->register(Illuminate\View\ViewServiceProvider::class);
$app->register(Illuminate\Mail\MailServiceProvider::class);
$mailer = $app->make('mailer');

$bad = 0;
foreach ($messages as $i => $m) {
    $n = $i + 1;
    try {
        $mailer->raw($m['text'], function ($message) use ($m) {
            $message->from($m['from'])->subject($m['subject']);
            foreach ($m['to'] as $to) {
                $message->to($to);
            }
        });
        $failures = $mailer->failures();
        if ($failures) {
            $bad++;
        }
        echo "sent $n failures=[".implode(',', $failures)."]\n";
    } catch (Throwable $e) {
        $bad++;
        $text = preg_replace('/\s+/', ' ', $e->getMessage());
        echo "failed $n code=".$e->getCode().' '.get_class($e).": $text\n";
    }
}

unset($mailer);
$app->flush();
unset($app);
gc_collect_cycles();
$status = @file($statusFile, FILE_IGNORE_NEW_LINES);
echo 'outbox-exit '.($status === false ? 'none' : implode(' ', $status))."\n";
exit($bad ? 1 : 0);
